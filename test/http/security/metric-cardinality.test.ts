import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildApp } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { createMetrics } from '../../../src/observability/metrics.ts'
import { createStaleOnErrorCache } from '../../../src/resilience/stale-on-error.ts'
import { createLogSink } from '../../helpers/log-sink.ts'
import { startFakeStatsd } from '../../helpers/fake-statsd.ts'
import { makeJpeg } from '../../helpers/images.ts'

/**
 * the `tenant` tag only takes tenants the logic source knows, so made-up URLs cannot grow
 * the metric's cardinality (each new tag value is a Datadog custom metric). The logic here has a
 * catch-all bucket, so any tenant "has" logic; only `news` is named.
 */
test('made-up tenants are tagged unknown; known tenants keep their name', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardinality-'))
  const root = path.join(dir, 'originals')
  fs.mkdirSync(path.join(root, 'news/d/b'), { recursive: true })
  fs.writeFileSync(path.join(root, 'news/d/b/a.jpg'), await makeJpeg(16, 16))
  fs.writeFileSync(path.join(dir, 'logic.json'), JSON.stringify({ buckets: { 'news/d/b': { adHoc: 'allow' }, '*/*/*': { adHoc: 'allow' } } }))
  const statsd = await startFakeStatsd()
  const config = loadConfig({ env: { STATSD_PORT: String(statsd.port), LOGIC_FILE: path.join(dir, 'logic.json'), ORIGIN_FS_ROOT: root }, configDir: dir })
  const metrics = createMetrics(config.statsd, { env: 'test', app: 'delivery-images', host: 'h' })
  const app = buildApp({ config, logger: createLogSink().logger, metrics })
  t.after(async () => {
    await app.server.close()
    await metrics.close()
    await statsd.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const urls = [
    ...Array.from({ length: 5 }, (_, i) => `/tenants/madeup${i}/domains/d/buckets/b/images/a.jpg`),
    '/tenants/madeup9/domains/d/buckets/b/images/a.jpg?w=0',
    '/tenants/news/domains/d/buckets/b/images/a.jpg?w=8',
    '/tenants/news/domains/d/buckets/b/images/missing.jpg'
  ]
  for (const url of urls) await app.server.inject(url)
  await statsd.waitFor((packets) => packets.filter((p) => p.name === 'delivery_images.request.count').length === urls.length)
  const tenants = statsd.named('delivery_images.request.count').map((packet) => `${packet.tags.tenant}:${packet.tags.status}`)
  assert.deepEqual(tenants.sort(), ['news:200', 'news:404', 'unknown:400', 'unknown:404', 'unknown:404', 'unknown:404', 'unknown:404', 'unknown:404'])
})

test('unknown keys are remembered apart: a flood of them never evicts a real stale-on-error answer', async () => {
  let now = 0
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 1000, notFoundTtlMs: 500, maxEntries: 2, now: () => now })
  assert.equal(await cache.get('real', async () => 'logic'), 'logic')
  let upstreamCalls = 0
  const unknown = async (): Promise<null> => { upstreamCalls++; return null }
  for (let i = 0; i < 100; i++) assert.equal(await cache.get(`madeup${i % 10}`, unknown), null)
  // One upstream call per unknown key per negative TTL, however often it is asked for.
  assert.equal(upstreamCalls, 10)
  now += 2000
  assert.equal(await cache.get('real', async () => { throw new Error('logic manager down') }), 'logic')
})
