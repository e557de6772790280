import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { createMetrics, type Metrics } from '../../../src/observability/metrics.ts'
import { serviceTags } from '../../../src/observability/service-tags.ts'
import { createBreakers } from '../../../src/resilience/breakers.ts'
import { DOGSTATSD_AGENT_SETTINGS, HOST_TAGS, histogramSuffixes, type HistogramSettings } from '../../../infra/datadog/agent.ts'
import { startFakeStatsd } from '../../helpers/fake-statsd.ts'

/** One metric as it leaves the service: its DogStatsD types (`c`, `ms`, `h`, `g`) and tag keys. */
export interface Emitted { types: Set<string>, tags: Set<string> }

const EVERY_TAG = { tenant: 't', format: 'webp' }

/**
 * One call of every Metrics method, every optional tag filled. A mapped type over Metrics: a new
 * method does not compile until it is driven here, so no metric escapes the checks.
 */
const DRIVE: { [K in keyof Metrics]: (metrics: Metrics) => void } = {
  requestCompleted: (m) => { m.requestCompleted({ route: '/r', status: 503, durationMs: 1, ...EVERY_TAG }) },
  requestAborted: (m) => { m.requestAborted({ route: '/r', tenant: 't' }) },
  transformation: (m) => { m.transformation({ durationMs: 1, ...EVERY_TAG }) },
  cacheHit: (m) => { m.cacheHit(EVERY_TAG) },
  cacheMiss: (m) => { m.cacheMiss(EVERY_TAG) },
  cacheStale: (m) => { m.cacheStale(EVERY_TAG) },
  cacheError: (m) => { m.cacheError('get') },
  originFetch: (m) => { m.originFetch({ durationMs: 1, bytes: 10, tenant: 't' }) },
  queueDepth: (m) => { m.queueDepth(1) },
  concurrencyLimit: (m) => { m.concurrencyLimit(4) },
  transformRejected: (m) => { m.transformRejected(EVERY_TAG) },
  watchBreaker: (m) => {
    // The breakers the app creates, each through every state change opossum reports.
    const config = loadConfig({ env: {}, configDir: path.join(os.tmpdir(), 'delivery-images-none') })
    for (const breaker of Object.values(createBreakers(config.breakers))) {
      m.watchBreaker(breaker.key, breaker.circuit)
      for (const event of ['open', 'close', 'halfOpen', 'fallback', 'timeout', 'failure']) breaker.circuit.emit(event)
      breaker.circuit.shutdown()
    }
  },
  dynamicConfigChange: (m) => { m.dynamicConfigChange('LOG_LEVEL') },
  purge: (m) => { m.purge({ tenant: 't' }) },
  close: () => {}
}

/** Every metric the service sends, by full name (STATSD_PREFIX included), read off a real UDP socket. */
export async function emittedMetrics (): Promise<Map<string, Emitted>> {
  const statsd = await startFakeStatsd()
  const config = loadConfig({ env: {}, configDir: path.join(os.tmpdir(), 'delivery-images-none') })
  const metrics = createMetrics({ ...config.statsd, enabled: true, host: '127.0.0.1', port: statsd.port }, serviceTags('pro', {}))
  for (const drive of Object.values(DRIVE)) drive(metrics)
  const marker = `${config.statsd.prefix}zz.marker`
  metrics.dynamicConfigChange('marker')
  await metrics.close()
  await statsd.waitFor((packets) => packets.some((packet) => packet.tags.key === 'marker'), marker)
  await statsd.close()
  const emitted = new Map<string, Emitted>()
  for (const packet of statsd.packets) {
    const entry = emitted.get(packet.name) ?? { types: new Set(), tags: new Set() }
    entry.types.add(packet.type)
    for (const tag of Object.keys(packet.tags)) entry.tags.add(tag)
    emitted.set(packet.name, entry)
  }
  return emitted
}

/** A series name as Datadog stores it → the metric the service sent, or null when no such series exists. */
export function seriesSource (series: string, emitted: ReadonlyMap<string, Emitted>, agent: HistogramSettings = DOGSTATSD_AGENT_SETTINGS): Emitted | null {
  const direct = emitted.get(series)
  if (direct !== undefined && (direct.types.has('c') || direct.types.has('g'))) return direct
  for (const suffix of histogramSuffixes(agent)) {
    if (!series.endsWith(suffix)) continue
    const base = emitted.get(series.slice(0, -suffix.length))
    if (base !== undefined && (base.types.has('ms') || base.types.has('h'))) return base
  }
  return null
}

export interface MetricReference { metric: string, tags: string[], groups: string[] }

/** `agg:metric{filters} by {groups}` references of a Datadog query; `$var` filters resolve through `variables`. */
export function metricReferences (query: string, variables: Readonly<Record<string, string>> = {}): MetricReference[] {
  const references: MetricReference[] = []
  for (const match of query.matchAll(/(?:avg|sum|min|max):([a-z0-9_.]+)\{([^}]*)\}(?:\s*by\s*\{([^}]*)\})?/g)) {
    const tags = (match[2] ?? '').split(',').map((filter) => filter.trim()).filter((filter) => filter !== '' && filter !== '*').map((filter) => {
      if (filter.startsWith('$')) return variables[filter.slice(1)] ?? filter
      return filter.replace(/^!/, '').split(':')[0] ?? filter
    })
    const groups = (match[3] ?? '').split(',').map((group) => group.trim()).filter((group) => group !== '')
    references.push({ metric: match[1] ?? '', tags, groups })
  }
  return references
}

/** Problems with one query's references to `delivery_images.*` series: unknown series, tags never sent. */
export function checkReferences (where: string, references: MetricReference[], emitted: ReadonlyMap<string, Emitted>, prefix: string): string[] {
  const problems: string[] = []
  for (const { metric, tags, groups } of references) {
    if (!metric.startsWith(prefix)) continue
    const source = seriesSource(metric, emitted)
    if (source === null) {
      problems.push(`${where}: ${metric} is no series the service and the agent produce`)
      continue
    }
    for (const tag of [...tags, ...groups]) {
      if (!source.tags.has(tag) && !(HOST_TAGS as readonly string[]).includes(tag)) problems.push(`${where}: ${metric} never carries the tag ${tag}`)
    }
  }
  return problems
}
