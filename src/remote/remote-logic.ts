import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { DeliveryError } from '../errors.ts'
import { bucketKey, type BucketLogic, type BucketRef, type CallContext, type LogicProvider } from '../logic/bucket-logic.ts'
import { validateDocument } from '../logic/schemas.ts'
import { isPathPart } from '../names.ts'
import type { Breaker, BreakerKey } from '../resilience/breakers.ts'
import { countFallback } from '../resilience/opossum-internals.ts'
import { createStaleOnErrorCache } from '../resilience/stale-on-error.ts'
import { withFailover } from './failover.ts'
import type { ServiceLocator } from './locators.ts'
import { createHttpClient, UpstreamStatusError, type HttpClient, type HttpResponse } from './http-client.ts'

type RemoteKey = Extract<BreakerKey, 'logic' | 'watermark' | 'alias'>

export interface RemoteLogicOptions {
  logicManager: ServiceLocator
  translator: ServiceLocator
  breakers: Record<RemoteKey, Breaker>
  /** `LOGIC_CACHE_TTL_MS`, read at use time (dynamic). */
  cacheTtlMs: () => number
  /** How long a 404 is remembered. */
  notFoundTtlMs?: number
  http?: HttpClient
  logger?: Logger
  /** Each stale answer served instead of a failure (the metric `breaker.<name>.fallback`). */
  onStale?: (breaker: RemoteKey) => void
}

export interface RemoteLogic extends LogicProvider {
  close: () => Promise<void>
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/**
 * `LOGIC_SOURCE=remote`: bucket logic and watermarks from the logic manager, aliases from the
 * translator. Every call runs through its breaker, on an instance picked by discovery, and every
 * answer is cached and served stale while the service fails.
 */
export function createRemoteLogic (options: RemoteLogicOptions): RemoteLogic {
  const http = options.http ?? createHttpClient()
  const ownsHttp = options.http === undefined
  const { breakers } = options

  function cacheFor<T> (key: RemoteKey, maxEntries: number) {
    return createStaleOnErrorCache<T>({
      ttlMs: options.cacheTtlMs,
      maxEntries,
      ...(options.notFoundTtlMs === undefined ? {} : { notFoundTtlMs: options.notFoundTtlMs }),
      onStale: (cacheKey, error) => {
        // Counted as a Hystrix fallback, so the stream and the metrics show stale answers.
        countFallback(breakers[key].circuit, cacheKey, error)
        options.onStale?.(key)
        options.logger?.debug({ err: error, key: cacheKey, breaker: key }, 'serving a stale answer')
      }
    })
  }
  const logicCache = cacheFor<BucketLogic>('logic', 10000)
  const aliasCache = cacheFor<BucketRef>('alias', 10000)
  // Watermarks are images: keep fewer.
  const watermarkCache = cacheFor<Buffer>('watermark', 1000)
  // Tenants the logic manager answered for: a made-up tenant gets a 404 there, so never lands here.
  const knownTenants = new LRUCache<string, true>({ max: 10000 })

  /**
   * One GET through the breaker. 404 is "does not exist"; another 4xx means our request is wrong
   * rather than the service unhealthy, so it fails the call without counting against the breaker.
   */
  async function fetchFrom<T> (
    key: RemoteKey,
    locator: ServiceLocator,
    path: string,
    context: CallContext,
    accept: string,
    parse: (response: HttpResponse, url: string) => T
  ): Promise<T | null> {
    const outcome = await breakers[key].fire(async (signal) => await withFailover(locator, async (baseUrl) => {
      const url = baseUrl + path
      const response = await http.get(url, { signal, requestId: context.requestId, accept })
      if (response.status === 404) return { found: null }
      if (response.status >= 200 && response.status < 300) return { found: parse(response, url) }
      if (response.status < 500) return { rejected: new UpstreamStatusError(url, response.status) }
      throw new DeliveryError('UPSTREAM_ERROR', `${locator.app} answered ${response.status}`, {
        cause: new UpstreamStatusError(url, response.status)
      })
    }))
    if ('rejected' in outcome) {
      throw new DeliveryError('UPSTREAM_ERROR', `${locator.app} refused the request`, { cause: outcome.rejected })
    }
    return outcome.found
  }

  return {
    async getBucketLogic (bucket, context) {
      // Parts are checked where they are read, but a URL is only ever built from plain parts.
      if (!isPlainBucket(bucket)) return null
      const path = `${bucketPath(bucket)}/logic`
      const logic = await logicCache.get(bucketKey(bucket), async () =>
        await fetchFrom('logic', options.logicManager, path, context, 'application/json', parseLogic))
      if (logic !== null) knownTenants.set(bucket.tenant, true)
      return logic
    },
    isKnownTenant: (tenant) => knownTenants.has(tenant),
    async resolveAlias (alias, context) {
      if (!isPathPart(alias)) return null
      const path = `/v1/aliases/${encodeURIComponent(alias)}`
      return await aliasCache.get(alias, async () =>
        await fetchFrom('alias', options.translator, path, context, 'application/json', parseAlias))
    },
    async getWatermark (bucket, context) {
      if (!isPlainBucket(bucket)) return null
      const path = `${bucketPath(bucket)}/watermark`
      return await watermarkCache.get(bucketKey(bucket), async () =>
        await fetchFrom('watermark', options.logicManager, path, context, 'image/png', parseWatermark))
    },
    async close () {
      if (ownsHttp) await http.close()
    }
  }
}

function isPlainBucket (bucket: BucketRef): boolean {
  return isPathPart(bucket.tenant) && isPathPart(bucket.domain) && isPathPart(bucket.bucket)
}

function bucketPath (bucket: BucketRef): string {
  const part = encodeURIComponent
  return `/v1/tenants/${part(bucket.tenant)}/domains/${part(bucket.domain)}/buckets/${part(bucket.bucket)}`
}

/** The reason reaches the client; the address stays in the cause, for the logs. */
function malformed (url: string, reason: string): DeliveryError {
  return new DeliveryError('UPSTREAM_ERROR', `Malformed answer from a remote service: ${reason}`, {
    cause: new Error(`GET ${url}: ${reason}`)
  })
}

function parseJson (response: HttpResponse, url: string): unknown {
  try {
    return JSON.parse(response.body.toString('utf8'))
  } catch {
    throw malformed(url, 'not JSON')
  }
}

function parseLogic (response: HttpResponse, url: string): BucketLogic {
  const document = parseJson(response, url)
  const violations = validateDocument('bucket-logic', document)
  const first = violations[0]
  if (first !== undefined) throw malformed(url, `${first.path} ${first.message}`)
  const logic = document as BucketLogic
  if (typeof logic.defaultRule === 'string' && logic.rules?.[logic.defaultRule] === undefined) {
    throw malformed(url, `defaultRule names no rule ('${logic.defaultRule}')`)
  }
  return logic
}

function parseAlias (response: HttpResponse, url: string): BucketRef {
  const document = parseJson(response, url) as Partial<Record<keyof BucketRef, unknown>> | null
  const parts = [document?.tenant, document?.domain, document?.bucket]
  // The parts become an origin key: anything but a plain segment could escape the bucket.
  if (!parts.every(isPathPart)) {
    throw malformed(url, 'tenant, domain and bucket must be path segments')
  }
  const [tenant, domain, bucket] = parts as [string, string, string]
  return { tenant, domain, bucket }
}

function parseWatermark (response: HttpResponse, url: string): Buffer {
  if (!response.body.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) throw malformed(url, 'not a PNG')
  return response.body
}
