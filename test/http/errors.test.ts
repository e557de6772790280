import assert from 'node:assert/strict'
import sharp from 'sharp'
import { before, describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { BUCKET_PATH, buildTestApp, type TestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'

let photo: Buffer
before(async () => { photo = await makeJpeg(200, 100) })

async function app (t: TestContext, extra: Record<string, Buffer> = {}): Promise<TestApp> {
  return await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo, ...extra } })
}

async function expectError (testApp: TestApp, url: string, status: number, code: string, headers: Record<string, string> = {}) {
  const response = await testApp.server.inject({ method: 'GET', url, headers })
  assert.equal(response.statusCode, status, `${url}: ${response.body}`)
  assert.match(String(response.headers['content-type']), /^application\/json/)
  const body = response.json<{ error: { code: string, message: string, requestId: string } }>()
  assert.equal(body.error.code, code, url)
  assert.equal(typeof body.error.message, 'string')
  assert.equal(body.error.requestId, response.headers['x-request-id'])
  assert.doesNotMatch(response.body, /at .*\.ts:\d+/, 'no stack trace')
  return { response, body }
}

describe('errors', () => {
  test('unknown, repeated and out-of-range parameters are 400 INVALID_PARAMETER naming the parameter', async (t) => {
    const testApp = await app(t)
    const cases: Array<[string, string]> = [
      ['zoom=2', 'zoom'],
      ['w=100&w=200', 'w'],
      ['w=0', 'w'],
      ['w=8193', 'w'],
      ['w=abc', 'w'],
      ['h=-5', 'h'],
      ['dpr=5', 'dpr'],
      ['dpr=0.5', 'dpr'],
      ['fit=stretch', 'fit'],
      ['pos=top', 'pos'],
      ['fp=1.2,0.5', 'fp'],
      ['fp=0.5', 'fp'],
      ['enlarge=yes', 'enlarge'],
      ['fm=bmp', 'fm'],
      ['q=0', 'q'],
      ['q=101', 'q'],
      ['lossless=2', 'lossless'],
      ['blur=0.1', 'blur'],
      ['blur=101', 'blur'],
      ['rot=45', 'rot'],
      ['flip=x', 'flip'],
      ['bg=red', 'bg'],
      ['bg=12345', 'bg'],
      ['wm=true', 'wm'],
      ['sharpen=on', 'sharpen'],
      ['progressive=yes', 'progressive'],
      ['rule=thumb&w=100', 'w']
    ]
    for (const [query, name] of cases) {
      const { body } = await expectError(testApp, `${BUCKET_PATH}/photo.jpg?${query}`, 400, 'INVALID_PARAMETER')
      assert.match(body.error.message, new RegExp(`'${name}'`), query)
    }
  })

  test('LIMITS_MAX_OUTPUT_DIMENSION bounds w and h', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo }, env: { LIMITS_MAX_OUTPUT_DIMENSION: '500' } })
    await expectError(testApp, `${BUCKET_PATH}/photo.jpg?w=501`, 400, 'INVALID_PARAMETER')
    // dpr included: refused, naming the limit, rather than silently scaled down.
    const { body } = await expectError(testApp, `${BUCKET_PATH}/photo.jpg?w=500&dpr=4&enlarge=1`, 400, 'INVALID_PARAMETER')
    assert.match(body.error.message, /LIMITS_MAX_OUTPUT_DIMENSION/)
    const ok = await testApp.server.inject(`${BUCKET_PATH}/photo.jpg?w=125&dpr=4&enlarge=1`)
    assert.equal(ok.statusCode, 200)
    assert.equal((await sharp(ok.rawPayload).metadata()).width, 500)
  })

  test('traversal ids sent raw over a socket are 400 INVALID_IMAGE_ID', async (t) => {
    const testApp = await app(t)
    await testApp.server.listen({ port: 0, host: '127.0.0.1' })
    const { port } = testApp.server.server.address() as AddressInfo
    // node:http sends the path as given; URL-based clients (and inject) would resolve the dot segments first.
    for (const id of ['../../../etc/passwd', 'a/../photo.jpg', './photo.jpg', '..', 'a\\b.jpg']) {
      const { status, body } = await rawGet(port, `${BUCKET_PATH}/${id}`)
      assert.equal(status, 400, id)
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'INVALID_IMAGE_ID')
    }
  })

  test('malformed image ids are 400 INVALID_IMAGE_ID', async (t) => {
    const testApp = await app(t)
    const ids = [
      '..%2F..%2Fetc%2Fpasswd',
      'a%2fb.jpg',
      'a%5Cb.jpg',
      'a%00.jpg',
      'a//b.jpg',
      'sp%20ace.jpg',
      'caf%C3%A9.jpg',
      'x'.repeat(513),
      '%E0%A4%A'
    ]
    for (const id of ids) await expectError(testApp, `${BUCKET_PATH}/${id}`, 400, 'INVALID_IMAGE_ID')
    await expectError(testApp, `${BUCKET_PATH}/`, 400, 'INVALID_IMAGE_ID')
  })

  test('not-found codes: alias, bucket, rule, image (with a short max-age)', async (t) => {
    const testApp = await app(t)
    await expectError(testApp, '/nobody/images/photo.jpg', 404, 'ALIAS_NOT_FOUND')
    await expectError(testApp, '/tenants/acme/domains/news/buckets/nope/images/photo.jpg', 404, 'BUCKET_NOT_FOUND')
    await expectError(testApp, `${BUCKET_PATH}/photo.jpg?rule=nope`, 404, 'RULE_NOT_FOUND')
    const { response } = await expectError(testApp, `${BUCKET_PATH}/missing.jpg?w=10`, 404, 'IMAGE_NOT_FOUND')
    assert.equal(response.headers['cache-control'], 'public, max-age=60')
  })

  test('errors come in the documented order: syntax before alias, bucket before rule, rule before the original', async (t) => {
    const testApp = await app(t)
    await expectError(testApp, '/nobody/images/photo.jpg?zoom=1', 400, 'INVALID_PARAMETER')
    await expectError(testApp, '/tenants/x/domains/y/buckets/z/images/missing.jpg?rule=nope', 404, 'BUCKET_NOT_FOUND')
    await expectError(testApp, `${BUCKET_PATH}/missing.jpg?rule=nope`, 404, 'RULE_NOT_FOUND')
    await expectError(testApp, '/tenants/acme/domains/news/buckets/locked/images/missing.jpg?w=10', 403, 'ADHOC_NOT_ALLOWED')
  })

  test('ad-hoc parameters on a deny bucket are 403 ADHOC_NOT_ALLOWED; its rules still work', async (t) => {
    const testApp = await app(t, { 'acme/news/locked/photo.jpg': photo })
    const { response } = await expectError(testApp, '/tenants/acme/domains/news/buckets/locked/images/photo.jpg?w=10', 403, 'ADHOC_NOT_ALLOWED')
    assert.equal(response.headers['cache-control'], 'no-store')
    const rule = await testApp.server.inject('/tenants/acme/domains/news/buckets/locked/images/photo.jpg?rule=thumb')
    assert.equal(rule.statusCode, 200)
  })

  test('a corrupt, truncated or non-image original is 415 UNSUPPORTED_SOURCE', async (t) => {
    const truncated = photo.subarray(0, Math.floor(photo.length / 2))
    const testApp = await app(t, {
      'acme/news/photos/truncated.jpg': truncated,
      'acme/news/photos/garbage.jpg': Buffer.from('this is not an image at all'),
      'acme/news/photos/empty.jpg': Buffer.alloc(0),
      'acme/news/photos/drawing.svg': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    })
    for (const id of ['truncated.jpg', 'garbage.jpg', 'empty.jpg', 'drawing.svg']) {
      await expectError(testApp, `${BUCKET_PATH}/${id}?w=50`, 415, 'UNSUPPORTED_SOURCE')
    }
    await expectError(testApp, `${BUCKET_PATH}/garbage.jpg`, 415, 'UNSUPPORTED_SOURCE')
  })

  test('a failed transformation leaves nothing in the cache: the next request fails again the same way', async (t) => {
    const testApp = await app(t, { 'acme/news/photos/garbage.jpg': Buffer.from('nope') })
    await expectError(testApp, `${BUCKET_PATH}/garbage.jpg?w=50`, 415, 'UNSUPPORTED_SOURCE')
    await expectError(testApp, `${BUCKET_PATH}/garbage.jpg?w=50`, 415, 'UNSUPPORTED_SOURCE')
  })

  test('unknown routes are JSON 404s', async (t) => {
    const testApp = await app(t)
    const response = await testApp.server.inject('/nothing-here')
    assert.equal(response.statusCode, 404)
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'IMAGE_NOT_FOUND')
    assert.equal(response.headers['cache-control'], 'no-store')
  })

  test('invalid path parameters are 400', async (t) => {
    const testApp = await app(t)
    await expectError(testApp, '/tenants/a%20b/domains/news/buckets/photos/images/photo.jpg', 400, 'INVALID_PARAMETER')
  })
})

async function rawGet (port: number, path: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method: 'GET' }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, body }) })
    })
    request.on('error', reject)
    request.end()
  })
}
