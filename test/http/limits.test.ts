import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { BUCKET_PATH, buildTestApp } from '../helpers/build-app.ts'
import { makeJpeg, makePngBomb } from '../helpers/images.ts'

let photo: Buffer
let large: Buffer
before(async () => {
  photo = await makeJpeg(200, 100)
  large = await makeJpeg(3000, 2000, { quality: 70 })
})

function errorCode (body: string): string {
  return (JSON.parse(body) as { error: { code: string } }).error.code
}

describe('limits', () => {
  test('a decompression bomb is refused from its header with 422, without decoding', async (t) => {
    // 100 000 × 100 000 RGB would need 30 GB decoded; the file is a few hundred bytes.
    const bomb = makePngBomb(100000, 100000)
    assert.ok(bomb.length < 2000)
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/bomb.png': bomb } })
    const before = process.memoryUsage().rss
    const response = await testApp.server.inject(`${BUCKET_PATH}/bomb.png?w=100`)
    assert.equal(response.statusCode, 422)
    assert.equal(errorCode(response.body), 'SOURCE_TOO_MANY_PIXELS')
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024)
  })

  test('LIMITS_MAX_SOURCE_PIXELS applies to ordinary images too', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo }, env: { LIMITS_MAX_SOURCE_PIXELS: '19999' } })
    const response = await testApp.server.inject(`${BUCKET_PATH}/photo.jpg?w=50`)
    assert.equal(response.statusCode, 422)
    assert.equal(errorCode(response.body), 'SOURCE_TOO_MANY_PIXELS')
  })

  test('an original over LIMITS_MAX_SOURCE_BYTES is 413, transformed or not', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo }, env: { LIMITS_MAX_SOURCE_BYTES: '100' } })
    for (const url of [`${BUCKET_PATH}/photo.jpg?w=50`, `${BUCKET_PATH}/photo.jpg`]) {
      const response = await testApp.server.inject(url)
      assert.equal(response.statusCode, 413)
      assert.equal(errorCode(response.body), 'SOURCE_TOO_LARGE')
    }
  })

  test('a burst beyond the queue gets 503 OVERLOADED with Retry-After, the rest 200', async (t) => {
    const testApp = await buildTestApp(t, {
      originals: { 'acme/news/photos/large.jpg': large },
      env: { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1', LIMITS_MAX_QUEUE: '1' }
    })
    const responses = await Promise.all(Array.from({ length: 8 }, async (_, i) =>
      await testApp.server.inject(`${BUCKET_PATH}/large.jpg?w=${300 + i}&fm=png`)))
    const rejected = responses.filter((r) => r.statusCode === 503)
    const served = responses.filter((r) => r.statusCode === 200)
    assert.equal(rejected.length + served.length, 8)
    assert.ok(served.length >= 2, `served ${served.length}`)
    assert.ok(rejected.length >= 1, `rejected ${rejected.length}`)
    for (const response of rejected) {
      assert.equal(errorCode(response.body), 'OVERLOADED')
      assert.equal(response.headers['retry-after'], '1')
      assert.equal(response.headers['cache-control'], 'no-store')
    }
    // The service recovers once the burst is over.
    const after = await testApp.server.inject(`${BUCKET_PATH}/large.jpg?w=100`)
    assert.equal(after.statusCode, 200)
  })

  test('a transformation over LIMITS_TRANSFORM_TIMEOUT_MS is 504 TRANSFORM_TIMEOUT and is not cached', async (t) => {
    const testApp = await buildTestApp(t, {
      originals: { 'acme/news/photos/large.jpg': large },
      env: { LIMITS_TRANSFORM_TIMEOUT_MS: '1' }
    })
    const response = await testApp.server.inject(`${BUCKET_PATH}/large.jpg?w=2999&fm=avif`)
    assert.equal(response.statusCode, 504)
    assert.equal(errorCode(response.body), 'TRANSFORM_TIMEOUT')
    const again = await testApp.server.inject(`${BUCKET_PATH}/large.jpg?w=2999&fm=avif`)
    assert.equal(again.statusCode, 504)
  })
})
