/**
 * The DogStatsD metric names, without `STATSD_PREFIX`. Dashboards and monitors
 * (infra/datadog) query these names: renaming one is a breaking change for ops.
 */
export const METRIC_NAMES = {
  requestCount: 'request.count',
  requestDuration: 'request.duration',
  /** The client left before the answer; its queued work was dropped. */
  requestAborted: 'request.aborted',
  transformationDuration: 'request.transformation.duration',
  cacheHit: 'transformation.cache.hit',
  cacheMiss: 'transformation.cache.miss',
  /** A cached output served while the origin fails. */
  cacheStale: 'transformation.cache.stale',
  /** The shared S3 tier failed a read or a write (the request went on without it). */
  cacheError: 'transformation.cache.error',
  originFetchDuration: 'origin.fetch.duration',
  originBytes: 'origin.bytes',
  queueDepth: 'transform.queue.depth',
  /** The adaptive transform concurrency limit (gauge). */
  concurrencyLimit: 'transform.concurrency.limit',
  transformRejected: 'transform.rejected',
  dynamicConfigChange: 'dynamic_config.change',
  /** A purge or takedown accepted by the admin port (tag `tenant`). */
  purgeCount: 'purge.count'
} as const

/** `breaker.<name>.<event>`: each circuit emits these names; opossum's `halfOpen` is also emitted as `halfopen`. */
export const BREAKER_EVENTS = ['open', 'close', 'halfopen', 'fallback', 'timeout', 'failure'] as const

export type BreakerEvent = typeof BREAKER_EVENTS[number]

/** Metric-safe breaker name: `DeliveryImages#GetLogicFromLogicManager` is not a valid metric segment. */
export function breakerMetricName (name: string, event: BreakerEvent): string {
  return `breaker.${name.toLowerCase().replace(/[^a-z0-9_]+/g, '_')}.${event}`
}
