import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { before, describe, test, type TestContext } from 'node:test'
import { buildApp, type App } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { createMetrics } from '../../../src/observability/metrics.ts'
import { startFakeStatsd, type FakeStatsd, type StatsdPacket } from '../../helpers/fake-statsd.ts'
import { makeJpeg } from '../../helpers/images.ts'

/** Request, cache, transformation, origin, queue and rejection metrics of real requests through the app. */

const PREFIX = 'delivery_images.'
const ROUTE = '/tenants/:tenant/domains/:domain/buckets/:bucket/images/*'
const IMAGES = '/tenants/t/domains/d/buckets/b/images'

let photo: Buffer
let large: Buffer
before(async () => {
  photo = await makeJpeg(320, 200)
  large = await makeJpeg(2400, 1600, { quality: 70 })
})

interface ObservedApp extends App {
  statsd: FakeStatsd
  logs: Array<Record<string, unknown>>
}

/** The real app over a temporary folder, sending DogStatsD packets to a UDP socket of the test. */
async function buildObservedApp (t: TestContext, env: Record<string, string> = {}): Promise<ObservedApp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-metrics-'))
  const root = path.join(dir, 'originals')
  fs.mkdirSync(path.join(root, 't/d/b'), { recursive: true })
  fs.writeFileSync(path.join(root, 't/d/b/photo.jpg'), photo)
  fs.writeFileSync(path.join(root, 't/d/b/large.jpg'), large)
  fs.writeFileSync(path.join(dir, 'logic.json'), JSON.stringify({ buckets: { 't/d/b': { adHoc: 'allow' } } }))
  const statsd = await startFakeStatsd()
  const config = loadConfig({
    env: { STATSD_PORT: String(statsd.port), LOGIC_FILE: path.join(dir, 'logic.json'), ORIGIN_FS_ROOT: root, ...env },
    configDir: path.join(dir, 'none')
  })
  const logs: Array<Record<string, unknown>> = []
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } }
  })
  const metrics = createMetrics(config.statsd, { service: 'delivery-images', env: 'test', version: '1.2.3' })
  const app = buildApp({ config, logger, metrics })
  t.after(async () => {
    await app.server.close()
    await metrics.close()
    await statsd.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  await app.server.ready()
  return { ...app, statsd, logs }
}

const requestCounts = (statsd: FakeStatsd): StatsdPacket[] => statsd.named(`${PREFIX}request.count`)

describe('metrics of real requests', () => {
  test('a cache miss: request count and duration tagged with route, status, tenant and format', async (t) => {
    const app = await buildObservedApp(t)
    const response = await app.server.inject(`${IMAGES}/photo.jpg?w=100`)
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['x-cache'], 'MISS')
    await app.statsd.waitFor((packets) => packets.some((packet) => packet.name === `${PREFIX}request.duration`))

    const [count, ...more] = requestCounts(app.statsd)
    assert.equal(more.length, 0)
    assert.equal(count?.type, 'c')
    assert.equal(count?.value, 1)
    assert.deepEqual(count?.tags, {
      service: 'delivery-images', env: 'test', version: '1.2.3', route: ROUTE, status: '200', status_class: '2xx', tenant: 't', format: 'jpeg'
    })
    const duration = app.statsd.named(`${PREFIX}request.duration`)[0]
    assert.equal(duration?.type, 'ms')
    assert.ok((duration?.value ?? 0) > 0)
    assert.deepEqual(duration?.tags, count?.tags)

    const debug = app.logs.find((line) => line.msg === 'transformation cache miss')
    assert.equal(debug?.level, 'debug')
    assert.equal(debug?.cacheHit, false)
  })

  test('a cache miss also reports the transformation, the origin fetch and the queue', async (t) => {
    const app = await buildObservedApp(t)
    await app.server.inject(`${IMAGES}/photo.jpg?w=100&fm=webp`)
    await app.statsd.waitFor((packets) => packets.some((packet) => packet.name === `${PREFIX}request.count`))
    const one = (name: string): StatsdPacket | undefined => app.statsd.named(`${PREFIX}${name}`)[0]
    assert.equal(one('transformation.cache.miss')?.value, 1)
    assert.equal(one('transformation.cache.miss')?.tags.tenant, 't')
    assert.equal(app.statsd.named(`${PREFIX}transformation.cache.hit`).length, 0)
    const transformation = app.statsd.named(`${PREFIX}request.transformation.duration`)
    assert.deepEqual(transformation.map((packet) => packet.type).sort(), ['g', 'ms'])
    assert.equal(transformation[0]?.tags.format, 'webp')
    assert.equal(one('origin.fetch.duration')?.type, 'ms')
    assert.equal(one('origin.bytes')?.type, 'h')
    assert.equal(one('origin.bytes')?.value, photo.length)
    assert.equal(one('transform.queue.depth')?.type, 'g')
  })

  test('a cache hit: counted once per request, tagged like the miss', async (t) => {
    const app = await buildObservedApp(t)
    await app.server.inject(`${IMAGES}/photo.jpg?w=100`)
    const hit = await app.server.inject(`${IMAGES}/photo.jpg?w=100`)
    assert.equal(hit.headers['x-cache'], 'HIT')
    await app.statsd.waitFor((packets) => packets.filter((packet) => packet.name === `${PREFIX}request.duration`).length >= 2)
    const counts = requestCounts(app.statsd)
    assert.equal(counts.length, 2)
    assert.deepEqual(counts[1]?.tags, counts[0]?.tags)
    assert.ok(app.logs.some((line) => line.msg === 'transformation cache hit' && line.cacheHit === true))
  })

  test('a cache hit counts transformation.cache.hit and no transformation time', async (t) => {
    const app = await buildObservedApp(t)
    await app.server.inject(`${IMAGES}/photo.jpg?w=100`)
    await app.statsd.waitFor((packets) => packets.some((packet) => packet.name === `${PREFIX}request.count`))
    app.statsd.clear()
    await app.server.inject(`${IMAGES}/photo.jpg?w=100`)
    await app.statsd.waitFor((packets) => packets.some((packet) => packet.name === `${PREFIX}request.count`))
    assert.equal(app.statsd.named(`${PREFIX}transformation.cache.hit`)[0]?.value, 1)
    assert.equal(app.statsd.named(`${PREFIX}transformation.cache.miss`).length, 0)
    assert.equal(app.statsd.named(`${PREFIX}request.transformation.duration`).length, 0)
    assert.equal(app.statsd.named(`${PREFIX}origin.fetch.duration`).length, 0)
  })

  test('an error: the status is tagged and the image format is not', async (t) => {
    const app = await buildObservedApp(t)
    const missing = await app.server.inject(`${IMAGES}/missing.jpg?w=100`)
    assert.equal(missing.statusCode, 404)
    const invalid = await app.server.inject(`${IMAGES}/photo.jpg?w=0`)
    assert.equal(invalid.statusCode, 400)
    const unrouted = await app.server.inject('/no/such/route')
    assert.equal(unrouted.statusCode, 404)
    await app.statsd.waitFor((packets) => packets.filter((packet) => packet.name === `${PREFIX}request.duration`).length >= 3)

    const tags = requestCounts(app.statsd).map((packet) => packet.tags)
    assert.deepEqual(tags.map(({ route, status, format }) => ({ route, status, format })), [
      { route: ROUTE, status: '404', format: undefined },
      { route: ROUTE, status: '400', format: undefined },
      { route: 'unmatched', status: '404', format: undefined }
    ])
  })

  test('a rejected request: 503 OVERLOADED is counted with its status', async (t) => {
    const app = await buildObservedApp(t, { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1', LIMITS_MAX_QUEUE: '0' })
    const responses = await Promise.all(Array.from({ length: 6 }, async (_, i) =>
      await app.server.inject(`${IMAGES}/large.jpg?w=${400 + i}&fm=png`)))
    const rejected = responses.filter((response) => response.statusCode === 503)
    assert.ok(rejected.length >= 1, `statuses ${responses.map((response) => response.statusCode).join()}`)
    for (const response of rejected) assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, 'OVERLOADED')
    await app.statsd.waitFor((packets) => packets.filter((packet) => packet.name === `${PREFIX}request.duration`).length >= 6)

    const counted503 = requestCounts(app.statsd).filter((packet) => packet.tags.status === '503')
    assert.equal(counted503.length, rejected.length)
    for (const packet of counted503) assert.equal(packet.tags.route, ROUTE)
  })

  test('a rejected request counts transform.rejected', async (t) => {
    const app = await buildObservedApp(t, { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1', LIMITS_MAX_QUEUE: '0' })
    const responses = await Promise.all(Array.from({ length: 6 }, async (_, i) =>
      await app.server.inject(`${IMAGES}/large.jpg?w=${400 + i}&fm=png`)))
    const rejected = responses.filter((response) => response.statusCode === 503).length
    assert.ok(rejected >= 1)
    await app.statsd.waitFor((packets) => packets.filter((packet) => packet.name === `${PREFIX}request.count`).length >= 6)
    const counted = app.statsd.named(`${PREFIX}transform.rejected`)
    assert.equal(counted.reduce((sum, packet) => sum + packet.value, 0), rejected)
    assert.equal(counted[0]?.tags.tenant, 't')
  })
})
