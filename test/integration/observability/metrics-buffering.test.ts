import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test, type TestContext } from 'node:test'
import {
  STATSD_MAX_DATAGRAM_BYTES,
  createMetrics,
  type Metrics
} from '../../../src/observability/metrics.ts'
import { parseLine, startFakeStatsd, type FakeStatsd } from '../../helpers/fake-statsd.ts'

const GLOBAL = { service: 'delivery-images', env: 'test', version: '1.2.3' }
const PREFIX = 'delivery_images.'
const ROUTE = '/tenants/:tenant/domains/:domain/buckets/:bucket/images/*'

/** What the delivery path sends for one transformed cache miss (src/delivery/deliver-image.ts): 9 metric lines. */
function oneCacheMiss (metrics: Metrics, tenant = 'acme'): number {
  metrics.cacheMiss({ tenant, format: 'webp' })
  metrics.originFetch({ durationMs: 3.2, bytes: 51234, tenant })
  metrics.queueDepth(1)
  metrics.queueDepth(0)
  metrics.transformation({ durationMs: 41.5, tenant, format: 'webp' })
  metrics.requestCompleted({ route: ROUTE, status: 200, tenant, format: 'webp', durationMs: 48.25 })
  return 9
}

describe('DogStatsD buffering (several metrics per datagram)', () => {
  let statsd: FakeStatsd

  before(async () => { statsd = await startFakeStatsd() })
  after(async () => { await statsd.close() })
  beforeEach(() => { statsd.clear() })

  function client (t: TestContext): Metrics {
    const errors: Error[] = []
    const metrics = createMetrics({ enabled: true, host: '127.0.0.1', port: statsd.port, prefix: PREFIX }, GLOBAL, {
      onError: (error) => errors.push(error)
    })
    t.after(async () => {
      await metrics.close()
      assert.deepEqual(errors, [])
    })
    return metrics
  }

  test('the metrics of one request leave in one datagram, each line parsed with its tags', async (t) => {
    const metrics = client(t)
    const sent = oneCacheMiss(metrics)
    // No close(): the flush timer sends the partly filled buffer.
    await statsd.waitFor((packets) => packets.length >= sent, `${sent} metrics`)

    assert.equal(statsd.datagrams.length, 1, statsd.datagrams.join('\n---\n'))
    assert.ok(statsd.datagrams.length < statsd.packets.length)
    assert.deepEqual(statsd.packets.map((packet) => `${packet.name}|${packet.type}`), [
      `${PREFIX}transformation.cache.miss|c`,
      `${PREFIX}origin.fetch.duration|ms`,
      `${PREFIX}origin.bytes|h`,
      `${PREFIX}transform.queue.depth|g`,
      `${PREFIX}transform.queue.depth|g`,
      `${PREFIX}request.transformation.duration|ms`,
      `${PREFIX}request.transformation.duration|g`,
      `${PREFIX}request.count|c`,
      `${PREFIX}request.duration|ms`
    ])
    for (const packet of statsd.packets) {
      assert.equal(packet.tags.service, 'delivery-images', packet.raw)
      assert.equal(packet.tags.env, 'test', packet.raw)
      assert.equal(packet.tags.version, '1.2.3', packet.raw)
      assert.equal(packet.tags.host, undefined, packet.raw)
    }
    assert.deepEqual(statsd.named(`${PREFIX}request.count`)[0]?.tags, {
      ...GLOBAL, route: ROUTE, status: '200', status_class: '2xx', tenant: 'acme', format: 'webp'
    })
    assert.equal(statsd.named(`${PREFIX}request.duration`)[0]?.value, 48.25)
    assert.deepEqual(statsd.named(`${PREFIX}origin.bytes`)[0]?.tags, { ...GLOBAL, tenant: 'acme' })
    assert.equal(statsd.named(`${PREFIX}origin.bytes`)[0]?.value, 51234)
    assert.deepEqual(statsd.named(`${PREFIX}transform.queue.depth`)[0]?.tags, GLOBAL)
  })

  test('a burst is split into datagrams no larger than the safe UDP payload, none cut in the middle of a line', async (t) => {
    const metrics = client(t)
    let sent = 0
    for (let i = 0; i < 40; i++) sent += oneCacheMiss(metrics, `tenant${i}`)
    await statsd.waitFor((packets) => packets.length >= sent, `${sent} metrics`)

    assert.equal(statsd.packets.length, sent)
    assert.ok(statsd.datagrams.length > 1, 'more than one buffer full')
    assert.ok(statsd.datagrams.length < sent / 5, `${statsd.datagrams.length} datagrams for ${sent} metrics`)
    for (const datagram of statsd.datagrams) {
      assert.ok(Buffer.byteLength(datagram) <= STATSD_MAX_DATAGRAM_BYTES, `${Buffer.byteLength(datagram)} bytes`)
      assert.ok(!datagram.startsWith('\n') && !datagram.endsWith('\n'), JSON.stringify(datagram))
      for (const line of datagram.split('\n')) assert.match(line, /^delivery_images\.[a-z_.]+:[\d.]+\|(c|g|ms|h)\|#service:delivery-images,env:test,version:1\.2\.3(,|$)/)
    }
    // Every request's metrics arrived whole, tagged with their own tenant.
    for (let i = 0; i < 40; i++) {
      const mine = statsd.packets.filter((packet) => packet.tags.tenant === `tenant${i}`)
      assert.equal(mine.length, 7, `tenant${i}`)
    }
    assert.equal(statsd.named(`${PREFIX}transform.queue.depth`).length, 80)
  })

  test('close() sends what is still buffered', async () => {
    const metrics = createMetrics({ enabled: true, host: '127.0.0.1', port: statsd.port, prefix: PREFIX }, GLOBAL)
    // Same tick as close(): the flush timer cannot have sent these, only close() can.
    metrics.requestAborted({ route: ROUTE, tenant: 'acme' })
    metrics.cacheStale({ tenant: 'acme', format: 'avif' })
    metrics.concurrencyLimit(6)
    await metrics.close()
    await statsd.waitFor((packets) => packets.length >= 3, 'the buffered metrics')

    assert.equal(statsd.datagrams.length, 1)
    assert.deepEqual(statsd.datagrams[0]?.split('\n').map((line) => parseLine(line)).map(({ name, value, type, tags }) => ({ name, value, type, tags })), [
      { name: `${PREFIX}request.aborted`, value: 1, type: 'c', tags: { ...GLOBAL, tenant: 'acme', route: ROUTE } },
      { name: `${PREFIX}transformation.cache.stale`, value: 1, type: 'c', tags: { ...GLOBAL, tenant: 'acme', format: 'avif' } },
      { name: `${PREFIX}transform.concurrency.limit`, value: 6, type: 'g', tags: GLOBAL }
    ])
  })
})
