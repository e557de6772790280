import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { DeliveryError } from '../../errors.ts'
import type { Breaker } from '../../resilience/breakers.ts'
import { formatTick } from '../../resilience/hystrix-stream.ts'

export interface HystrixStreamOptions {
  /** The breakers to report; a function so that breakers created later are included. */
  breakers: () => readonly Breaker[]
  /** `HYSTRIX_STREAM_INTERVAL_MS`. */
  intervalMs: number
  /** Listeners beyond which a new one gets 503, as the Java servlet does. */
  maxConnections?: number
}

const HEADERS = {
  'content-type': 'text/event-stream;charset=UTF-8',
  'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
  pragma: 'no-cache',
  // The connection ends with the stream: a kept-alive socket would hold up closing the server.
  connection: 'close',
  // Proxies such as nginx would otherwise buffer the stream.
  'x-accel-buffering': 'no'
}

/**
 * `GET /hystrix.stream`: every interval one `data:` record per breaker and per group,
 * then a `: ping` comment that keeps idle proxies and Turbine from closing the stream. One timer
 * serves every listener and runs only while someone listens.
 */
export async function hystrixStreamRoutes (app: FastifyInstance, options: HystrixStreamOptions): Promise<void> {
  const maxConnections = options.maxConnections ?? 10
  const listeners = new Set<ServerResponse>()
  let timer: NodeJS.Timeout | undefined

  function payload (): string {
    const records = formatTick(options.breakers().map((breaker) => breaker.circuit), Date.now())
    return records.map((record) => `data: ${JSON.stringify(record)}\n\n`).join('') + ': ping\n\n'
  }

  function tick (): void {
    const chunk = payload()
    for (const response of listeners) {
      // A listener that does not read is skipped rather than buffered without bound.
      if (!response.writableNeedDrain) response.write(chunk)
    }
  }

  function remove (response: ServerResponse): void {
    listeners.delete(response)
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer)
      timer = undefined
    }
  }

  app.get('/hystrix.stream', async (request, reply) => {
    if (listeners.size >= maxConnections) {
      // Refused listeners usually retry at once; do not keep their connection around.
      void reply.header('connection', 'close')
      throw new DeliveryError('OVERLOADED', `MaxConcurrentConnections reached: ${maxConnections}`, { retryAfterSeconds: 10 })
    }
    reply.hijack()
    const response = reply.raw
    response.writeHead(200, { ...HEADERS, 'x-request-id': request.id })
    // The first records at once, so a dashboard draws without waiting a whole interval.
    response.write(payload())
    listeners.add(response)
    const cleanup = (): void => { remove(response) }
    response.once('close', cleanup)
    response.once('error', cleanup)
    request.raw.once('close', cleanup)
    if (timer === undefined) timer = setInterval(tick, options.intervalMs)
  })

  // Streams never end on their own: close them, or closing the server would wait for them.
  app.addHook('preClose', async () => {
    for (const response of listeners) response.end()
    listeners.clear()
    clearInterval(timer)
    timer = undefined
  })
}
