import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BUCKET_PATH, buildTestApp, defaultLogic } from '../../helpers/build-app.ts'
import { makeJpeg } from '../../helpers/images.ts'

/**
 * `dpr` has at most two decimals, and requests that produce the same output share one
 * cache entry and one ETag, so a client cannot mint endless misses with identical bytes.
 */

test('dpr with more than two decimals is a 400 naming it, with a rule on a deny bucket too', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/locked/a.jpg': await makeJpeg(80, 60) } })
  const locked = '/tenants/acme/domains/news/buckets/locked/images/a.jpg'
  for (const dpr of ['1.000001', '1.001', '2.125', '1.']) {
    const response = await app.server.inject(`${locked}?rule=thumb&dpr=${dpr}`)
    assert.equal(response.statusCode, 400, dpr)
    assert.match(response.json<{ error: { message: string } }>().error.message, /'dpr'/)
  }
  assert.equal((await app.server.inject(`${locked}?rule=thumb&dpr=1.25`)).statusCode, 200)
})

test('equivalent requests share one cache entry and one ETag', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/photos/a.jpg': await makeJpeg(400, 300) }, logic: defaultLogic() })
  const pairs = [
    ['w=100&dpr=2', 'w=200'],
    ['w=50&dpr=1.5', 'w=75'],
    ['w=40&h=30&dpr=2', 'w=80&h=60'],
    ['w=10&fm=jpeg&q=80', 'w=10&fm=jpeg'],
    ['w=10&fm=png&q=55', 'w=10&fm=png'],
    ['w=10&fm=jpeg&progressive=1', 'w=10&fm=jpeg'],
    ['w=10&fm=jpeg&lossless=1', 'w=10&fm=jpeg'],
    ['w=20&h=20&fit=inside&pos=north', 'w=20&h=20&fit=inside'],
    ['w=20&pos=north', 'w=20'],
    ['fm=webp&enlarge=1', 'fm=webp']
  ]
  for (const [first, second] of pairs) {
    const a = await app.server.inject(`${BUCKET_PATH}/a.jpg?${first}`)
    const b = await app.server.inject(`${BUCKET_PATH}/a.jpg?${second}`)
    assert.equal(a.statusCode, 200, first)
    assert.equal(b.statusCode, 200, second)
    assert.equal(b.headers.etag, a.headers.etag, `${first} / ${second}`)
    assert.equal(b.headers['x-cache'], 'HIT', second)
    assert.deepEqual(b.rawPayload, a.rawPayload)
  }
  // Different outputs keep different entries.
  const a = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=20&h=20&pos=north`)
  const b = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=20&h=20`)
  assert.notEqual(a.headers.etag, b.headers.etag)
})
