import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { createBreaker } from '../../../src/resilience/breakers.ts'
import { BREAKER_EVENTS, METRIC_NAMES } from '../../../src/observability/metric-names.ts'
import { createMetrics, createNoopMetrics, type Metrics } from '../../../src/observability/metrics.ts'
import { startFakeStatsd, type FakeStatsd } from '../../helpers/fake-statsd.ts'

const GLOBAL = { service: 'delivery-images', env: 'test', version: '1.2.3' }
const PREFIX = 'delivery_images.'

describe('DogStatsD metrics', () => {
  let statsd: FakeStatsd
  let metrics: Metrics
  const errors: Error[] = []

  before(async () => {
    statsd = await startFakeStatsd()
    metrics = createMetrics({ enabled: true, host: '127.0.0.1', port: statsd.port, prefix: PREFIX }, GLOBAL, {
      onError: (error) => errors.push(error)
    })
  })
  after(async () => {
    await metrics.close()
    await statsd.close()
  })
  beforeEach(() => { statsd.clear() })

  test('the metric names are exactly those of the contract', () => {
    assert.deepEqual(Object.values(METRIC_NAMES).sort(), [
      'dynamic_config.change',
      'origin.bytes',
      'origin.fetch.duration',
      'purge.count',
      'request.aborted',
      'request.count',
      'request.duration',
      'request.transformation.duration',
      'transform.concurrency.limit',
      'transform.queue.depth',
      'transform.rejected',
      'transformation.cache.error',
      'transformation.cache.hit',
      'transformation.cache.miss',
      'transformation.cache.stale'
    ])
    assert.deepEqual([...BREAKER_EVENTS], ['open', 'close', 'halfopen', 'fallback', 'timeout', 'failure'])
  })

  test('a completed request is a counter and a timing tagged with route, status, its class, tenant and format', async () => {
    metrics.requestCompleted({ route: '/tenants/:tenant/images/*', status: 200, tenant: 'acme', format: 'webp', durationMs: 12.5 })
    await statsd.waitFor((packets) => packets.length >= 2)
    assert.deepEqual(statsd.packets.map((packet) => packet.raw), [
      'delivery_images.request.count:1|c|#service:delivery-images,env:test,version:1.2.3,' +
        'route:/tenants/:tenant/images/*,status:200,status_class:2xx,tenant:acme,format:webp',
      'delivery_images.request.duration:12.5|ms|#service:delivery-images,env:test,version:1.2.3,' +
        'route:/tenants/:tenant/images/*,status:200,status_class:2xx,tenant:acme,format:webp'
    ])
  })

  test('unknown tags are left out rather than sent empty', async () => {
    metrics.requestCompleted({ route: 'unmatched', status: 404, tenant: null, format: null, durationMs: 1 })
    await statsd.waitFor((packets) => packets.length >= 2)
    assert.deepEqual(statsd.packets[0]?.tags, { service: 'delivery-images', env: 'test', version: '1.2.3', route: 'unmatched', status: '404', status_class: '4xx' })
  })

  test('a transformation is both a timing and a gauge of the same name', async () => {
    metrics.transformation({ durationMs: 42.1234, tenant: 'acme', format: 'avif' })
    await statsd.waitFor((packets) => packets.length >= 2)
    const sent = statsd.named(`${PREFIX}request.transformation.duration`)
    assert.deepEqual(sent.map((packet) => [packet.type, packet.value]), [['ms', 42.123], ['g', 42.123]])
    for (const packet of sent) assert.deepEqual({ tenant: packet.tags.tenant, format: packet.tags.format }, { tenant: 'acme', format: 'avif' })
  })

  test('cache, origin, queue, rejection and dynamic configuration metrics', async () => {
    metrics.cacheHit({ tenant: 'acme', format: 'jpeg' })
    metrics.cacheMiss({ tenant: 'acme' })
    metrics.originFetch({ durationMs: 7, bytes: 2048, tenant: 'acme' })
    metrics.queueDepth(3)
    metrics.transformRejected({ tenant: 'acme' })
    metrics.dynamicConfigChange('LOG_LEVEL')
    await statsd.waitFor((packets) => packets.length >= 7)
    const summary = statsd.packets.map((packet) => `${packet.name}:${packet.value}|${packet.type}`)
    assert.deepEqual(summary, [
      'delivery_images.transformation.cache.hit:1|c',
      'delivery_images.transformation.cache.miss:1|c',
      'delivery_images.origin.fetch.duration:7|ms',
      'delivery_images.origin.bytes:2048|h',
      'delivery_images.transform.queue.depth:3|g',
      'delivery_images.transform.rejected:1|c',
      'delivery_images.dynamic_config.change:1|c'
    ])
    assert.equal(statsd.named(`${PREFIX}transformation.cache.hit`)[0]?.tags.format, 'jpeg')
    assert.equal(statsd.named(`${PREFIX}dynamic_config.change`)[0]?.tags.key, 'LOG_LEVEL')
    assert.equal(statsd.named(`${PREFIX}transform.queue.depth`)[0]?.tags.env, 'test')
  })

  test('an aborted request is a counter tagged with tenant and route', async () => {
    metrics.requestAborted({ route: '/tenants/:tenant/images/*', tenant: 'acme' })
    metrics.requestAborted({ route: 'unmatched', tenant: null })
    await statsd.waitFor((packets) => packets.length >= 2)
    assert.deepEqual(statsd.packets.map((packet) => packet.raw), [
      'delivery_images.request.aborted:1|c|#service:delivery-images,env:test,version:1.2.3,tenant:acme,route:/tenants/:tenant/images/*',
      'delivery_images.request.aborted:1|c|#service:delivery-images,env:test,version:1.2.3,route:unmatched'
    ])
  })

  test('a stale cached output is a counter tagged with tenant and format', async () => {
    metrics.cacheStale({ tenant: 'acme', format: 'webp' })
    metrics.cacheStale()
    await statsd.waitFor((packets) => packets.length >= 2)
    const sent = statsd.named(`${PREFIX}transformation.cache.stale`)
    assert.deepEqual(sent.map((packet) => [packet.type, packet.value]), [['c', 1], ['c', 1]])
    assert.deepEqual(sent[0]?.tags, { service: 'delivery-images', env: 'test', version: '1.2.3', tenant: 'acme', format: 'webp' })
    assert.deepEqual(sent[1]?.tags, GLOBAL)
  })

  test('the adaptive concurrency limit is a gauge with only the global tags', async () => {
    metrics.concurrencyLimit(8)
    metrics.concurrencyLimit(5)
    await statsd.waitFor((packets) => packets.length >= 2)
    assert.deepEqual(statsd.packets.map((packet) => packet.raw), [
      'delivery_images.transform.concurrency.limit:8|g|#service:delivery-images,env:test,version:1.2.3',
      'delivery_images.transform.concurrency.limit:5|g|#service:delivery-images,env:test,version:1.2.3'
    ])
  })

  test('breaker state changes count as breaker.<name>.<event>, tagged with the breaker', async () => {
    const breaker = createBreaker('origin', { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 10, resetMs: 60000 }, { volumeThreshold: 1 })
    const unwatch = metrics.watchBreaker('origin', breaker.circuit)
    await assert.rejects(breaker.fire(async () => { throw new Error('storage down') }), { code: 'UPSTREAM_ERROR' })
    await statsd.waitFor((packets) => packets.some((packet) => packet.name.endsWith('.open')))
    unwatch()
    breaker.circuit.shutdown()
    const names = statsd.packets.map((packet) => packet.name)
    assert.ok(names.includes(`${PREFIX}breaker.origin.failure`), names.join())
    assert.ok(names.includes(`${PREFIX}breaker.origin.open`), names.join())
    const open = statsd.named(`${PREFIX}breaker.origin.open`)[0]
    assert.equal(open?.type, 'c')
    // `#` cannot appear in a DogStatsD tag; hot-shots replaces it.
    assert.equal(open?.tags.breaker, 'DeliveryImages_GetOriginalFromStorage')
  })

  test('a half-open breaker is spelled halfopen', async () => {
    const breaker = createBreaker('logic', { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 10, resetMs: 60000 })
    metrics.watchBreaker('logic', breaker.circuit)
    breaker.circuit.emit('halfOpen', 60000)
    breaker.circuit.shutdown()
    await statsd.waitFor((packets) => packets.length >= 1)
    assert.equal(statsd.packets[0]?.name, `${PREFIX}breaker.logic.halfopen`)
  })

  test('Datadog environment variables do not change what is sent', async (t) => {
    const saved = { DD_ENV: process.env.DD_ENV, DD_SERVICE: process.env.DD_SERVICE, DD_VERSION: process.env.DD_VERSION }
    Object.assign(process.env, { DD_ENV: 'prod', DD_SERVICE: 'other', DD_VERSION: '9' })
    t.after(() => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) Reflect.deleteProperty(process.env, key)
        else process.env[key] = value
      }
    })
    const withDdEnv = createMetrics({ enabled: true, host: '127.0.0.1', port: statsd.port, prefix: PREFIX }, GLOBAL)
    withDdEnv.queueDepth(1)
    await withDdEnv.close()
    await statsd.waitFor((packets) => packets.length >= 1)
    assert.deepEqual(statsd.packets.map((packet) => packet.raw), [
      'delivery_images.transform.queue.depth:1|g|#service:delivery-images,env:test,version:1.2.3'
    ])
  })

  test('a host tag is never sent: the agent\'s hostname (and the host-level tags) stay', async () => {
    const tagged = createMetrics({ enabled: true, host: '127.0.0.1', port: statsd.port, prefix: PREFIX }, { ...GLOBAL, host: 'ip-10-0-0-1', service_host: 'ip-10-0-0-1' })
    tagged.queueDepth(2)
    await tagged.close()
    await statsd.waitFor((packets) => packets.length >= 1)
    assert.deepEqual(statsd.packets[0]?.tags, { ...GLOBAL, service_host: 'ip-10-0-0-1' })
  })

  test('socket and DNS errors go to onError and never throw into the caller', async () => {
    const seen: Error[] = []
    let failed: () => void = () => {}
    const firstError = new Promise<void>((resolve) => { failed = resolve })
    const broken = createMetrics({ enabled: true, host: 'no-such-host.invalid', port: 8125, prefix: PREFIX }, GLOBAL, {
      onError: (error) => { seen.push(error); failed() }
    })
    assert.doesNotThrow(() => {
      broken.requestCompleted({ route: '/x', status: 200, tenant: 'acme', format: 'png', durationMs: 1 })
      broken.queueDepth(1)
    })
    // Buffered: the failure is known when the buffer is flushed, by the timer.
    await firstError
    await broken.close()
    assert.match(String(seen[0]?.message), /no-such-host|ENOTFOUND|EAI_AGAIN/)
  })

  test('close() reports a failed last flush and still resolves', async () => {
    const seen: Error[] = []
    const broken = createMetrics({ enabled: true, host: 'no-such-host.invalid', port: 8125, prefix: PREFIX }, GLOBAL, {
      onError: (error) => seen.push(error)
    })
    broken.cacheMiss({ tenant: 'acme' })
    // Same tick: the flush timer has not run, so the metric is still in the buffer close() sends.
    await broken.close()
    assert.equal(seen.length, 1, seen.map(String).join('\n'))
    assert.match(String(seen[0]?.message), /no-such-host|ENOTFOUND|EAI_AGAIN/)
  })

  test('STATSD_ENABLED=false sends nothing', async () => {
    const disabled = createMetrics({ enabled: false, host: '127.0.0.1', port: statsd.port, prefix: PREFIX }, GLOBAL)
    disabled.requestCompleted({ route: '/x', status: 200, tenant: 'acme', format: 'png', durationMs: 1 })
    disabled.cacheMiss()
    await disabled.close()
    // A marker sent after them by a live client arrives alone: UDP on loopback keeps order.
    const live = createMetrics({ enabled: true, host: '127.0.0.1', port: statsd.port, prefix: 'marker.' }, GLOBAL)
    live.queueDepth(0)
    await live.close()
    await statsd.waitFor((packets) => packets.length >= 1)
    assert.deepEqual(statsd.packets.map((packet) => packet.name), ['marker.transform.queue.depth'])
  })

  test('the no-op metrics accept every call', async () => {
    const noop = createNoopMetrics()
    noop.requestCompleted({ route: '/x', status: 500, durationMs: 1 })
    noop.requestAborted({ route: '/x', tenant: 'acme' })
    noop.cacheStale({ tenant: 'acme' })
    noop.concurrencyLimit(4)
    noop.watchBreaker('x', createBreaker('alias', { timeoutMs: 1, errorThresholdPercent: 1, maxConcurrent: 1, resetMs: 1 }).circuit)()
    await noop.close()
    assert.equal(errors.length, 0)
  })
})
