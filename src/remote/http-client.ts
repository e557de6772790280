import { Agent, request } from 'undici'
import { DeliveryError } from '../errors.ts'

export interface HttpClientOptions {
  /** Time to open a TCP connection; a dead instance fails fast and the call moves to another one. */
  connectTimeoutMs?: number
  /** How long an idle keep-alive connection is kept. */
  keepAliveTimeoutMs?: number
  /** Connections per origin (the pool size for one base URL). */
  connectionsPerOrigin?: number
  /** Largest body accepted; a bigger answer is an upstream error, not an out-of-memory. */
  maxResponseBytes?: number
}

export interface HttpGetOptions {
  /** Aborts the call: the breaker's timeout. */
  signal: AbortSignal
  /** Forwarded as `X-Request-Id`, so the remote service's logs name the same request. */
  requestId: string
  accept: string
}

export interface HttpResponse {
  status: number
  contentType: string | null
  body: Buffer
}

export interface HttpClient {
  get: (url: string, options: HttpGetOptions) => Promise<HttpResponse>
  close: () => Promise<void>
}

/** A non-2xx/404 answer, kept as the cause of an UPSTREAM_ERROR so a 5xx can be retried elsewhere. */
export class UpstreamStatusError extends Error {
  override name = 'UpstreamStatusError'
  readonly status: number

  constructor (url: string, status: number) {
    super(`GET ${url} answered ${status}`)
    this.status = status
  }
}

/** The instance could not be reached at all (refused, reset, DNS, connect timeout). */
export class UpstreamUnreachableError extends Error {
  override name = 'UpstreamUnreachableError'
}

/**
 * A keep-alive HTTP client for the remote services. One undici Agent keeps one connection pool
 * per origin, so every base URL found in Eureka gets its own pool. Trace headers are added by
 * dd-trace's undici instrumentation when tracing is on.
 */
export function createHttpClient (options: HttpClientOptions = {}): HttpClient {
  const maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 32,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30000,
    connect: { timeout: options.connectTimeoutMs ?? 1000 },
    // The breaker's signal bounds every call; these only stop a connection that stalls forever.
    headersTimeout: 60000,
    bodyTimeout: 60000
  })

  return {
    async get (url, { signal, requestId, accept }) {
      try {
        const response = await request(url, {
          method: 'GET',
          dispatcher: agent,
          signal,
          headers: { accept, 'x-request-id': requestId, 'user-agent': 'delivery-images' }
        })
        const declared = Number(response.headers['content-length'])
        if (declared > maxResponseBytes) {
          response.body.destroy()
          throw tooLarge(url, maxResponseBytes)
        }
        const chunks: Buffer[] = []
        let size = 0
        for await (const chunk of response.body) {
          size += (chunk as Buffer).length
          if (size > maxResponseBytes) {
            response.body.destroy()
            throw tooLarge(url, maxResponseBytes)
          }
          chunks.push(chunk as Buffer)
        }
        const contentType = response.headers['content-type']
        return {
          status: response.statusCode,
          contentType: typeof contentType === 'string' ? contentType : null,
          body: Buffer.concat(chunks)
        }
      } catch (error) {
        throw classify(url, error, signal)
      }
    },
    close: async () => { await agent.close() }
  }
}

// Clients see the messages; internal addresses stay in the causes, which only the logs show.
function tooLarge (url: string, limit: number): DeliveryError {
  return new DeliveryError('UPSTREAM_ERROR', 'A remote service answered too much data', {
    cause: new Error(`GET ${url} answered more than ${limit} bytes`)
  })
}

function classify (url: string, error: unknown, signal: AbortSignal): unknown {
  if (error instanceof DeliveryError) return error
  // Only the caller's deadline makes a timeout here: an instance that does not even accept the
  // connection in time is unreachable, and another instance may answer (see withFailover).
  if (signal.aborted) {
    return new DeliveryError('UPSTREAM_TIMEOUT', 'A remote service timed out', { cause: new Error(`GET ${url} timed out`, { cause: error }) })
  }
  const unreachable = new UpstreamUnreachableError(`GET ${url} failed: ${(error as Error).message}`, { cause: error })
  return new DeliveryError('DEPENDENCY_UNAVAILABLE', 'A remote service is unreachable', { cause: unreachable })
}
