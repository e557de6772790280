import { BREAKER_EVENTS, METRIC_NAMES } from './metric-names.ts'

/**
 * What each metric of METRIC_NAMES is: its DogStatsD type(s), the tags it carries besides the
 * unified service tags (`service`, `env`, `version`, on every metric) and when it is sent. Keyed by
 * METRIC_NAMES' keys, so a new name without an entry here fails the typecheck; docs/reference/metrics.md
 * is rendered from it (`npm run docs`).
 */

export type MetricType = 'counter' | 'timing' | 'gauge' | 'histogram'

export interface MetricEntry {
  /** Several when one measurement is sent as two types (a timing and a gauge). */
  types: readonly MetricType[]
  unit?: 'ms' | 'bytes'
  tags: readonly string[]
  when: string
}

const REQUEST_TAGS = ['route', 'status', 'status_class', 'tenant', 'format'] as const

export const METRIC_CATALOG: Readonly<Record<keyof typeof METRIC_NAMES, MetricEntry>> = {
  requestCount: { types: ['counter'], tags: REQUEST_TAGS, when: 'every completed request (`route:unmatched` for unknown paths)' },
  requestDuration: { types: ['timing'], unit: 'ms', tags: REQUEST_TAGS, when: 'every completed request' },
  requestAborted: { types: ['counter'], tags: ['tenant', 'route'], when: 'the client left before its answer; its queued work was dropped' },
  transformationDuration: { types: ['timing', 'gauge'], unit: 'ms', tags: ['tenant', 'format'], when: 'cache misses only: the sharp pipeline' },
  cacheHit: { types: ['counter'], tags: ['tenant', 'format'], when: 'a transformed-image cache lookup found the output' },
  cacheMiss: { types: ['counter'], tags: ['tenant'], when: 'a transformed-image cache lookup found nothing' },
  cacheStale: { types: ['counter'], tags: ['tenant', 'format'], when: 'a cached output served while the origin fails (`X-Cache: STALE`)' },
  cacheError: { types: ['counter'], tags: ['kind'], when: 'the shared S3 tier failed a read (`get`) or a write (`set`), or dropped a write under back-pressure (`set_dropped`); the request went on without it' },
  originFetchDuration: { types: ['timing'], unit: 'ms', tags: ['tenant'], when: 'each read of an original' },
  originBytes: { types: ['histogram'], unit: 'bytes', tags: ['tenant'], when: 'size of each original read' },
  queueDepth: { types: ['gauge'], tags: [], when: 'transformations waiting for a slot' },
  concurrencyLimit: { types: ['gauge'], tags: [], when: 'the transform limit, each time it changes (adaptive with `auto`)' },
  transformRejected: {
    types: ['counter'],
    tags: ['tenant'],
    when: '503 `OVERLOADED`: queue full, queue wait over `LIMITS_QUEUE_TIMEOUT_MS`, or the tenant over its share'
  },
  dynamicConfigChange: { types: ['counter'], tags: ['key'], when: 'each dynamic property change' },
  purgeCount: { types: ['counter'], tags: ['tenant'], when: 'each purge or takedown accepted by `POST /admin/purge`' }
}

/** The `breaker.<name>.<event>` family: one counter per breaker and event. */
export const BREAKER_METRIC: MetricEntry & { events: typeof BREAKER_EVENTS } = {
  types: ['counter'],
  tags: ['breaker'],
  events: BREAKER_EVENTS,
  when: 'a circuit breaker event (`breaker` is the breaker\'s full name, e.g. `DeliveryImages#GetOriginalFromStorage`)'
}
