import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { before, describe, test } from 'node:test'
import type { AddressInfo } from 'node:net'
import sharp from 'sharp'
import { BUCKET_PATH, buildTestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'

let photo: Buffer
before(async () => { photo = await makeJpeg(640, 480) })

const URL_400 = `${BUCKET_PATH}/photo.jpg?w=400`

describe('HTTP caching semantics', () => {
  test('a 200 carries type, length, strong ETag, Last-Modified, Cache-Control, X-Cache and X-Request-Id', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    const response = await testApp.server.inject(URL_400)
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['content-type'], 'image/jpeg')
    assert.equal(response.headers['content-length'], String(response.rawPayload.length))
    assert.match(String(response.headers.etag), /^"[A-Za-z0-9_-]+"$/)
    const mtime = fs.statSync(path.join(testApp.root, 'acme/news/photos/photo.jpg')).mtime
    assert.equal(response.headers['last-modified'], mtime.toUTCString())
    assert.equal(response.headers['cache-control'], 'public, max-age=3600')
    assert.equal(response.headers['x-cache'], 'MISS')
    assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/)
  })

  test('a bucket without cacheControl gets CACHE_CONTROL_DEFAULT', async (t) => {
    const testApp = await buildTestApp(t, {
      originals: { 'acme/news/photos/photo.jpg': photo },
      logic: { buckets: { 'acme/news/photos': { adHoc: 'allow' } } },
      env: { CACHE_CONTROL_DEFAULT: 'public, max-age=42' }
    })
    const response = await testApp.server.inject(URL_400)
    assert.equal(response.headers['cache-control'], 'public, max-age=42')
  })

  test('the second request is a cache hit with identical bytes and ETag', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    const first = await testApp.server.inject(URL_400)
    const second = await testApp.server.inject(URL_400)
    assert.equal(first.headers['x-cache'], 'MISS')
    assert.equal(second.headers['x-cache'], 'HIT')
    assert.equal(first.headers.etag, second.headers.etag)
    assert.ok(first.rawPayload.equals(second.rawPayload))
  })

  test('CACHE_MEMORY_MAX_BYTES=0 turns the cache off', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo }, env: { CACHE_MEMORY_MAX_BYTES: '0' } })
    await testApp.server.inject(URL_400)
    const second = await testApp.server.inject(URL_400)
    assert.equal(second.headers['x-cache'], 'MISS')
  })

  test('If-None-Match with the ETag gives 304 without a body; a stale ETag gives 200', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    const first = await testApp.server.inject(URL_400)
    const etag = String(first.headers.etag)
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const revalidated = await testApp.server.inject({ url: URL_400, headers: { 'if-none-match': header } })
      assert.equal(revalidated.statusCode, 304, header)
      assert.equal(revalidated.rawPayload.length, 0)
      assert.equal(revalidated.headers.etag, etag)
      assert.equal(revalidated.headers['cache-control'], 'public, max-age=3600')
    }
    const stale = await testApp.server.inject({ url: URL_400, headers: { 'if-none-match': '"stale"' } })
    assert.equal(stale.statusCode, 200)
  })

  test('passthrough originals have their own ETag and answer 304 too', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    const first = await testApp.server.inject(`${BUCKET_PATH}/photo.jpg`)
    assert.equal(first.statusCode, 200)
    const again = await testApp.server.inject({ url: `${BUCKET_PATH}/photo.jpg`, headers: { 'if-none-match': String(first.headers.etag) } })
    assert.equal(again.statusCode, 304)
  })

  test('HEAD gives the same headers as GET and no body, over a real socket', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    await testApp.server.listen({ port: 0, host: '127.0.0.1' })
    const { port } = testApp.server.server.address() as AddressInfo
    const get = await fetch(`http://127.0.0.1:${port}${URL_400}`)
    const getBody = Buffer.from(await get.arrayBuffer())
    const head = await fetch(`http://127.0.0.1:${port}${URL_400}`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal((await head.arrayBuffer()).byteLength, 0)
    for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control']) {
      assert.equal(head.headers.get(name), get.headers.get(name), name)
    }
    assert.equal(head.headers.get('content-length'), String(getBody.length))
  })

  test('a replaced original gets a new ETag and new bytes once its version is checked again', async (t) => {
    // ORIGIN_VERSION_TTL_MS=0: every request asks the origin (the default trusts a version for 30 s).
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo }, env: { ORIGIN_VERSION_TTL_MS: '0' } })
    const before = await testApp.server.inject(URL_400)
    const file = path.join(testApp.root, 'acme/news/photos/photo.jpg')
    fs.writeFileSync(file, await makeJpeg(800, 200))
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000))
    const after = await testApp.server.inject(URL_400)
    assert.notEqual(after.headers.etag, before.headers.etag)
    assert.equal(after.headers['x-cache'], 'MISS')
    assert.equal((await sharp(after.rawPayload).metadata()).height, 100)
  })

  test('identical concurrent requests transform once: one MISS, the rest share it', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    const responses = await Promise.all(Array.from({ length: 12 }, async () => await testApp.server.inject(`${BUCKET_PATH}/photo.jpg?w=333`)))
    const statuses = responses.map((r) => r.statusCode)
    assert.deepEqual(new Set(statuses), new Set([200]))
    assert.equal(responses.filter((r) => r.headers['x-cache'] === 'MISS').length, 1)
    const first = responses[0]?.rawPayload
    assert.ok(responses.every((r) => first !== undefined && r.rawPayload.equals(first)))
  })

  test('X-Request-Id: a valid one is echoed, an invalid one replaced; one log line per request', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    const echoed = await testApp.server.inject({ url: URL_400, headers: { 'x-request-id': 'cdn-abc:123.x_y' } })
    assert.equal(echoed.headers['x-request-id'], 'cdn-abc:123.x_y')
    const replaced = await testApp.server.inject({ url: URL_400, headers: { 'x-request-id': 'bad id\n{"injected":1}' } })
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    const tooLong = await testApp.server.inject({ url: URL_400, headers: { 'x-request-id': 'a'.repeat(129) } })
    assert.notEqual(tooLong.headers['x-request-id'], 'a'.repeat(129))

    const lines = testApp.logs.filter((line) => line.msg === 'request completed')
    assert.equal(lines.length, 3)
    const first = lines[0] ?? {}
    assert.equal(first.requestId, 'cdn-abc:123.x_y')
    assert.equal(first.route, '/tenants/:tenant/domains/:domain/buckets/:bucket/images/*')
    assert.equal(first.status, 200)
    assert.equal(first.tenant, 'acme')
    assert.equal(first.cacheHit, false)
    assert.equal(typeof first.durationMs, 'number')
    assert.equal(lines[1]?.cacheHit, true)
  })

  test('error lines carry the tenant of the path', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo } })
    await testApp.server.inject(`${BUCKET_PATH}/photo.jpg?w=0`)
    const line = testApp.logs.find((entry) => entry.msg === 'request completed')
    assert.equal(line?.status, 400)
    assert.equal(line?.tenant, 'acme')
  })

  test('GET /healthcheck is UP', async (t) => {
    const testApp = await buildTestApp(t)
    const response = await testApp.server.inject('/healthcheck')
    assert.equal(response.statusCode, 200)
    assert.equal(response.json<{ status: string }>().status, 'UP')
    testApp.markShuttingDown()
    const down = await testApp.server.inject('/healthcheck')
    assert.equal(down.statusCode, 503)
    assert.deepEqual(down.json(), { status: 'OUT_OF_SERVICE' })
  })
})
