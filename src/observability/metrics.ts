import type { EventEmitter } from 'node:events'
import StatsD from 'hot-shots'
import { BREAKER_EVENTS, METRIC_NAMES, breakerMetricName } from './metric-names.ts'
import type { ServiceTags } from './service-tags.ts'

/** The `statsd` slice of the configuration (`STATSD_*`). */
export interface StatsdSettings {
  enabled: boolean
  host: string
  port: number
  prefix: string
}

/**
 * Tags sent with every metric: the unified service tags (`serviceTags()`: service, env, version),
 * and `service_host` where an instance must be told apart beyond the agent's own host.
 */
export type GlobalTags = ServiceTags | Readonly<Record<string, string>>

/**
 * Tags DogStatsD gives a meaning of their own: `host` replaces the hostname the agent resolved
 * (and with it the host-level tags of the instance or container), so it is never sent.
 */
export const RESERVED_TAGS: readonly string[] = ['host']

export interface MetricsOptions {
  /** Socket, DNS and send failures land here; they never reach a request. */
  onError?: (error: Error) => void
}

/**
 * Metrics are buffered and joined, one per line, into datagrams of at most this many bytes: a
 * request's 3–9 metrics leave in one packet instead of one each. 1432 is the UDP payload the
 * DogStatsD clients use: it fits a 1500-byte Ethernet MTU after the IPv6 (40) and UDP (8) headers
 * with room to spare, so a datagram is not fragmented on its way to the agent. (A single metric
 * longer than this is still sent, alone.)
 */
export const STATSD_MAX_DATAGRAM_BYTES = 1432

/** A partly filled buffer leaves at least this often: metrics reach the agent at most this late. */
export const STATSD_FLUSH_INTERVAL_MS = 200

/** What the request path knows about one image; null/undefined tags are left out ("where known"). */
export interface ImageTags {
  tenant?: string | null | undefined
  format?: string | null | undefined
}

export interface RequestCompleted extends ImageTags {
  /** Route template (`/tenants/:tenant/…`), never the raw URL: tag cardinality stays bounded. */
  route: string
  status: number
  durationMs: number
}

export interface TransformationDone extends ImageTags {
  durationMs: number
}

export interface RequestAborted {
  /** Route template, as for `request.count`. */
  route: string
  tenant?: string | null | undefined
}

export interface OriginFetched {
  durationMs: number
  bytes: number
  tenant?: string | null | undefined
}

/** The part of an opossum circuit breaker that metrics listen to. */
export type WatchableBreaker = Pick<EventEmitter, 'on' | 'off'> & { readonly name: string }

/** Every metric, behind methods so that callers cannot misspell a name or a tag. */
export interface Metrics {
  requestCompleted: (request: RequestCompleted) => void
  /** `request.aborted`: the client left before the answer; its queued work was dropped. */
  requestAborted: (request: RequestAborted) => void
  /** Only on a cache miss: the time spent transforming (timing and gauge). */
  transformation: (done: TransformationDone) => void
  cacheHit: (tags?: ImageTags) => void
  cacheMiss: (tags?: ImageTags) => void
  /** `transformation.cache.stale`: a cached output served while the origin fails. */
  cacheStale: (tags?: ImageTags) => void
  /** `transformation.cache.error`: the shared tier failed (`kind`: get, set, set_dropped); the request went on without it. */
  cacheError: (kind: string) => void
  originFetch: (fetched: OriginFetched) => void
  queueDepth: (waiting: number) => void
  /** `transform.concurrency.limit`: the adaptive transform concurrency limit now in force (gauge). */
  concurrencyLimit: (limit: number) => void
  transformRejected: (tags?: ImageTags) => void
  /** Counts `breaker.<name>.<event>` for each state change of the circuit; returns an unsubscribe function. */
  watchBreaker: (name: string, circuit: WatchableBreaker) => () => void
  dynamicConfigChange: (key: string) => void
  /** `purge.count`: a purge or takedown accepted by the admin port, tagged with its tenant. */
  purge: (tags: { tenant: string }) => void
  /** Sends what is buffered, then closes the socket (metrics are flushed on shutdown). */
  close: () => Promise<void>
}

/**
 * A DogStatsD client over UDP. Metrics are buffered (see STATSD_MAX_DATAGRAM_BYTES): a datagram
 * leaves when the next metric would not fit, every STATSD_FLUSH_INTERVAL_MS, and on close().
 * `STATSD_ENABLED=false` returns the no-op implementation: no socket is opened and nothing is sent.
 */
export function createMetrics (settings: StatsdSettings, globalTags: GlobalTags, options: MetricsOptions = {}): Metrics {
  if (!settings.enabled) return createNoopMetrics()
  const onError = options.onError ?? (() => {})

  const client = new StatsD({
    host: settings.host,
    port: settings.port,
    protocol: 'udp',
    prefix: settings.prefix,
    globalTags: withoutReserved(globalTags),
    // hot-shots turns on "Datadog mode" as soon as any DD_* variable is set (dd-trace users set
    // several): it would add env/service/version tags a second time, a container field and its own
    // telemetry packets. The tags here are explicit instead (serviceTags() reads the same DD_*).
    datadog: false,
    includeDataDogTags: false,
    includeDatadogTelemetry: false,
    maxBufferSize: STATSD_MAX_DATAGRAM_BYTES,
    bufferFlushInterval: STATSD_FLUSH_INTERVAL_MS,
    // In buffered mode a send failure is only known at flush time; it goes here.
    errorHandler: onError
  })

  /** A metric must never fail a request: anything thrown by the client goes to onError. */
  function safely (send: () => void): void {
    try {
      send()
    } catch (error) {
      onError(error instanceof Error ? error : new Error(String(error)))
    }
  }

  return {
    requestCompleted (request) {
      const tags = tagsOf({
        route: request.route,
        status: String(request.status),
        // 5xx share monitors and canaries need the class, not every code.
        status_class: `${Math.floor(request.status / 100)}xx`,
        tenant: request.tenant,
        format: request.format
      })
      safely(() => {
        client.increment(METRIC_NAMES.requestCount, 1, tags)
        client.timing(METRIC_NAMES.requestDuration, roundMs(request.durationMs), tags)
      })
    },
    transformation (done) {
      const tags = tagsOf({ tenant: done.tenant, format: done.format })
      const ms = roundMs(done.durationMs)
      safely(() => {
        client.timing(METRIC_NAMES.transformationDuration, ms, tags)
        client.gauge(METRIC_NAMES.transformationDuration, ms, tags)
      })
    },
    requestAborted (request) {
      safely(() => { client.increment(METRIC_NAMES.requestAborted, 1, tagsOf({ tenant: request.tenant, route: request.route })) })
    },
    cacheHit (tags = {}) {
      safely(() => { client.increment(METRIC_NAMES.cacheHit, 1, tagsOf({ tenant: tags.tenant, format: tags.format })) })
    },
    cacheMiss (tags = {}) {
      safely(() => { client.increment(METRIC_NAMES.cacheMiss, 1, tagsOf({ tenant: tags.tenant, format: tags.format })) })
    },
    cacheStale (tags = {}) {
      safely(() => { client.increment(METRIC_NAMES.cacheStale, 1, tagsOf({ tenant: tags.tenant, format: tags.format })) })
    },
    originFetch (fetched) {
      const tags = tagsOf({ tenant: fetched.tenant })
      safely(() => {
        client.timing(METRIC_NAMES.originFetchDuration, roundMs(fetched.durationMs), tags)
        client.histogram(METRIC_NAMES.originBytes, fetched.bytes, tags)
      })
    },
    queueDepth (waiting) {
      safely(() => { client.gauge(METRIC_NAMES.queueDepth, waiting) })
    },
    concurrencyLimit (limit) {
      safely(() => { client.gauge(METRIC_NAMES.concurrencyLimit, limit) })
    },
    transformRejected (tags = {}) {
      safely(() => { client.increment(METRIC_NAMES.transformRejected, 1, tagsOf({ tenant: tags.tenant, format: tags.format })) })
    },
    watchBreaker (name, circuit) {
      const listeners = BREAKER_EVENTS.map((event) => {
        const metric = breakerMetricName(name, event)
        const listener = (): void => { safely(() => { client.increment(metric, 1, { breaker: circuit.name }) }) }
        // The resilience layer's circuits emit every event under its metric name (halfOpen as halfopen too).
        circuit.on(event, listener)
        return { event, listener }
      })
      return () => {
        for (const { event, listener } of listeners) circuit.off(event, listener)
      }
    },
    cacheError (kind) {
      safely(() => { client.increment(METRIC_NAMES.cacheError, 1, { kind }) })
    },
    dynamicConfigChange (key) {
      safely(() => { client.increment(METRIC_NAMES.dynamicConfigChange, 1, { key }) })
    },
    purge ({ tenant }) {
      safely(() => { client.increment(METRIC_NAMES.purgeCount, 1, { tenant }) })
    },
    async close () {
      // hot-shots' close() stops the flush timer, sends the buffer and waits for it to leave before
      // closing the socket. If that last send fails, its callback gets the error and the socket is
      // left open: a second close() (the buffer is empty by then) closes it.
      const closeOnce = async (): Promise<Error | null> => await new Promise((resolve) => {
        try {
          client.close((error) => { resolve(error ?? null) })
        } catch (error) {
          resolve(error instanceof Error ? error : new Error(String(error)))
        }
      })
      const error = await closeOnce()
      if (error === null) return
      onError(error)
      const again = await closeOnce()
      if (again !== null) onError(again)
    }
  }
}

/** Metrics that go nowhere: `STATSD_ENABLED=false`, and the default for tests that don't look at metrics. */
export function createNoopMetrics (): Metrics {
  const nothing = (): void => {}
  return {
    requestCompleted: nothing,
    requestAborted: nothing,
    transformation: nothing,
    cacheHit: nothing,
    cacheMiss: nothing,
    cacheStale: nothing,
    originFetch: nothing,
    queueDepth: nothing,
    concurrencyLimit: nothing,
    transformRejected: nothing,
    watchBreaker: () => nothing,
    dynamicConfigChange: nothing,
    cacheError: nothing,
    purge: nothing,
    close: async () => {}
  }
}

function withoutReserved (tags: GlobalTags): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([key]) => !RESERVED_TAGS.includes(key)))
}

function tagsOf (candidates: Record<string, string | null | undefined>): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const [key, value] of Object.entries(candidates)) {
    if (value !== null && value !== undefined && value !== '') tags[key] = value
  }
  return tags
}

function roundMs (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
