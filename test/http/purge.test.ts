import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { before, describe, test, type TestContext } from 'node:test'
import sharp from 'sharp'
import { BUCKET_PATH, buildTestApp, type TestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'
import { startFakeStatsd } from '../helpers/fake-statsd.ts'
import { createMetrics } from '../../src/observability/metrics.ts'

const TOKEN = 'purge-token-0123456789'
const A = 'acme/news/photos/2026/a.jpg'
const B = 'acme/news/photos/b.jpg'
const LOCKED = 'acme/news/locked/c.jpg'

let photo: Buffer
before(async () => { photo = await makeJpeg(64, 32) })

async function setup (t: TestContext, env: Record<string, string> = { ADMIN_TOKEN: TOKEN }): Promise<TestApp> {
  return await buildTestApp(t, { originals: { [A]: photo, [B]: photo, [LOCKED]: photo }, env })
}

/** `authorization: null` sends none. */
async function purge (app: TestApp, body: unknown, authorization: string | null = `Bearer ${TOKEN}`) {
  return await app.admin.inject({
    method: 'POST',
    url: '/admin/purge',
    headers: authorization === null ? {} : { authorization },
    payload: body as Record<string, unknown>
  })
}

async function get (app: TestApp, url: string, headers: Record<string, string> = {}) {
  const response = await app.server.inject({ url, headers })
  return { status: response.statusCode, etag: response.headers.etag, cache: response.headers['x-cache'], headers: response.headers, bytes: response.rawPayload }
}

interface Answer { purgeId: string, scope: string, takedown: boolean, paths: string[], cdn: { provider: string, invalidationId: string | null } }

const IMAGE_A = { tenant: 'acme', domain: 'news', bucket: 'photos', imageId: '2026/a.jpg' }
const PHOTOS = { tenant: 'acme', domain: 'news', bucket: 'photos' }

describe('POST /admin/purge', () => {
  test('an image purge: the next request transforms again with a new ETag; the bucket\'s other images stay cached', async (t) => {
    const app = await setup(t)
    const first = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    assert.equal(first.cache, 'MISS')
    assert.equal((await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)).cache, 'HIT')
    const other = await get(app, `${BUCKET_PATH}/b.jpg?w=32`)
    assert.equal(other.cache, 'MISS')
    const original = await get(app, '/shots/images/2026/a.jpg')

    const response = await purge(app, IMAGE_A)
    assert.equal(response.statusCode, 202)
    assert.equal(response.headers['cache-control'], 'no-store')
    const answer = response.json<Answer>()
    assert.match(answer.purgeId, /^[0-9a-f-]{36}$/)
    assert.deepEqual({ ...answer, purgeId: '' }, {
      purgeId: '',
      scope: 'acme/news/photos/2026/a.jpg',
      takedown: false,
      paths: [
        '/tenants/acme/domains/news/buckets/photos/images/2026/a.jpg*',
        '/api/v1/tenants/acme/domains/news/buckets/photos/images/2026/a.jpg*',
        '/shots/images/2026/a.jpg*',
        '/api/v1/shots/images/2026/a.jpg*'
      ],
      cdn: { provider: 'none', invalidationId: null }
    })

    const after = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    assert.equal(after.status, 200)
    assert.equal(after.cache, 'MISS')
    assert.notEqual(after.etag, first.etag)
    assert.equal((await sharp(after.bytes).metadata()).width, 32)
    // The old ETag no longer validates: a CDN revalidating gets the new bytes, not a 304.
    assert.equal((await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`, { 'if-none-match': String(first.etag) })).status, 200)
    const again = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    assert.deepEqual([again.cache, again.etag], ['HIT', after.etag])
    // The untouched original's ETag moves too (same bytes, but a CDN must fetch them again).
    const untouched = await get(app, '/shots/images/2026/a.jpg')
    assert.equal(untouched.status, 200)
    assert.notEqual(untouched.etag, original.etag)
    assert.deepEqual(untouched.bytes, photo)

    const sameBucket = await get(app, `${BUCKET_PATH}/b.jpg?w=32`)
    assert.deepEqual([sameBucket.cache, sameBucket.etag], ['HIT', other.etag])

    const audit = app.logs.find((line) => line.audit === true)
    assert.ok(audit !== undefined, 'an audit line')
    assert.equal(audit.purgeId, answer.purgeId)
    assert.equal(audit.who, 'admin')
    assert.equal(audit.scope, 'acme/news/photos/2026/a.jpg')
    assert.equal(audit.takedown, false)
    assert.ok(Math.abs(Date.parse(String(audit.at)) - Date.now()) < 60_000, 'when')
    assert.equal(audit.level, 30)
  })

  test('a bucket purge renews every image of the bucket and no other bucket\'s', async (t) => {
    const app = await setup(t)
    const a = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    const b = await get(app, `${BUCKET_PATH}/b.jpg?w=20`)
    const locked = await get(app, '/tenants/acme/domains/news/buckets/locked/images/c.jpg')
    assert.equal(locked.cache, 'MISS')

    const response = await purge(app, PHOTOS)
    assert.equal(response.statusCode, 202)
    const answer = response.json<Answer>()
    assert.equal(answer.scope, 'acme/news/photos')
    assert.deepEqual(answer.paths, [
      '/tenants/acme/domains/news/buckets/photos/images/*',
      '/api/v1/tenants/acme/domains/news/buckets/photos/images/*',
      '/shots/images/*',
      '/api/v1/shots/images/*'
    ])

    for (const [url, before] of [[`${BUCKET_PATH}/2026/a.jpg?w=32`, a], [`${BUCKET_PATH}/b.jpg?w=20`, b]] as const) {
      const after = await get(app, url)
      assert.equal(after.cache, 'MISS', url)
      assert.notEqual(after.etag, before.etag, url)
    }
    const otherBucket = await get(app, '/tenants/acme/domains/news/buckets/locked/images/c.jpg')
    assert.deepEqual([otherBucket.cache, otherBucket.etag], ['HIT', locked.etag])

    // An image purge after the bucket purge moves that image again, and only it.
    const bucketEtag = (await get(app, `${BUCKET_PATH}/b.jpg?w=20`)).etag
    assert.equal((await purge(app, { ...PHOTOS, imageId: 'b.jpg' })).statusCode, 202)
    const renewed = await get(app, `${BUCKET_PATH}/b.jpg?w=20`)
    assert.equal(renewed.cache, 'MISS')
    assert.notEqual(renewed.etag, bucketEtag)
    assert.equal((await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)).cache, 'HIT')
  })

  test('a takedown answers 451 IMAGE_TAKEN_DOWN with no-store on every route form and HEAD, until lifted', async (t) => {
    const app = await setup(t)
    const before = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    const forms = [
      `${BUCKET_PATH}/2026/a.jpg?w=32`,
      `/api/v1${BUCKET_PATH}/2026/a.jpg?w=32`,
      '/shots/images/2026/a.jpg?rule=thumb',
      '/api/v1/shots/images/2026/a.jpg',
      `${BUCKET_PATH}/2026/a.jpg`
    ]
    const assertTakenDown = async (urls: string[]): Promise<void> => {
      for (const url of urls) {
        const response = await app.server.inject({ url })
        assert.equal(response.statusCode, 451, url)
        assert.equal(response.headers['cache-control'], 'no-store', url)
        assert.equal(response.headers['cache-tag'], undefined, url)
        assert.match(String(response.headers['content-type']), /^application\/json/, url)
        const { error } = response.json<{ error: { code: string, requestId: string } }>()
        assert.equal(error.code, 'IMAGE_TAKEN_DOWN', url)
        assert.equal(typeof error.requestId, 'string')
        const head = await app.server.inject({ method: 'HEAD', url })
        assert.equal(head.statusCode, 451, `HEAD ${url}`)
        assert.equal(head.headers['cache-control'], 'no-store', `HEAD ${url}`)
        // A conditional request must not get a 304 of the old bytes either.
        const conditional = await app.server.inject({ url, headers: { 'if-none-match': String(before.etag) } })
        assert.equal(conditional.statusCode, 451, `If-None-Match ${url}`)
      }
    }

    const down = await purge(app, { ...IMAGE_A, takedown: true })
    assert.equal(down.statusCode, 202)
    assert.equal(down.json<Answer>().takedown, true)
    await assertTakenDown(forms)
    assert.equal((await get(app, `${BUCKET_PATH}/b.jpg?w=32`)).status, 200, 'the bucket\'s other images are served')

    // A plain purge keeps the takedown: only an explicit false lifts it.
    const plain = await purge(app, IMAGE_A)
    assert.equal(plain.json<Answer>().takedown, true)
    await assertTakenDown(forms.slice(0, 1))

    const lifted = await purge(app, { ...IMAGE_A, takedown: false })
    assert.equal(lifted.json<Answer>().takedown, false)
    const back = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    assert.equal(back.status, 200)
    assert.equal(back.cache, 'MISS')
    assert.notEqual(back.etag, before.etag)

    // A bucket takedown covers each of its images, whatever their own records say.
    assert.equal((await purge(app, { ...PHOTOS, takedown: true })).statusCode, 202)
    await assertTakenDown([...forms, `${BUCKET_PATH}/b.jpg?w=32`])
    assert.equal((await get(app, '/tenants/acme/domains/news/buckets/locked/images/c.jpg')).status, 200)
    assert.equal((await purge(app, { ...PHOTOS, takedown: false })).statusCode, 202)
    assert.equal((await get(app, `${BUCKET_PATH}/b.jpg?w=32`)).status, 200)
    assert.equal((await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)).status, 200)
  })

  test('a purge of a replaced original reads the new original at once, not after the version TTL', async (t) => {
    const app = await setup(t)
    const url = `${BUCKET_PATH}/2026/a.jpg?w=32`
    assert.equal((await sharp((await get(app, url)).bytes).metadata()).height, 16)
    fs.writeFileSync(path.join(app.root, A), await makeJpeg(32, 64))
    // Within ORIGIN_VERSION_TTL_MS the known version is trusted: the old output is still served.
    const trusted = await get(app, url)
    assert.equal(trusted.cache, 'HIT')
    assert.equal((await sharp(trusted.bytes).metadata()).height, 16)

    assert.equal((await purge(app, IMAGE_A)).statusCode, 202)
    const fresh = await get(app, url)
    assert.equal(fresh.status, 200)
    assert.equal(fresh.cache, 'MISS')
    assert.deepEqual([(await sharp(fresh.bytes).metadata()).width, (await sharp(fresh.bytes).metadata()).height], [32, 64])
    const original = await get(app, `${BUCKET_PATH}/2026/a.jpg`)
    assert.deepEqual(original.bytes, fs.readFileSync(path.join(app.root, A)))
  })

  test('without ADMIN_TOKEN purges are refused (403 READ_ONLY); a missing or wrong token is a 401', async (t) => {
    const readOnly = await setup(t, {})
    for (const authorization of [null, `Bearer ${TOKEN}`]) {
      const refused = await purge(readOnly, IMAGE_A, authorization)
      assert.equal(refused.statusCode, 403)
      assert.equal(refused.json<{ error: { code: string } }>().error.code, 'READ_ONLY')
    }

    const app = await setup(t)
    const cached = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    for (const authorization of [null, 'Bearer wrong', `Basic ${TOKEN}`, TOKEN]) {
      const response = await purge(app, { ...IMAGE_A, takedown: true }, authorization)
      assert.equal(response.statusCode, 401, String(authorization))
      assert.equal(response.json<{ error: { code: string } }>().error.code, 'UNAUTHORIZED')
      assert.match(String(response.headers['www-authenticate']), /^Bearer/)
    }
    const still = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    assert.deepEqual([still.status, still.cache, still.etag], [200, 'HIT', cached.etag])
    assert.equal(app.logs.filter((line) => line.audit === true).length, 0)
  })

  test('bad bodies are 400 INVALID_REQUEST naming the problem, and purge nothing', async (t) => {
    const app = await setup(t)
    const cached = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    const cases: Array<[unknown, RegExp]> = [
      [{ ...PHOTOS, imageId: '../photos/2026/a.jpg' }, /imageId.*relative segment/],
      [{ ...PHOTOS, imageId: '2026/./a.jpg' }, /imageId.*relative segment/],
      [{ ...PHOTOS, imageId: '2026//a.jpg' }, /imageId.*empty segment/],
      [{ ...PHOTOS, imageId: '' }, /imageId.*empty/],
      [{ ...PHOTOS, imageId: 'a\\b.jpg' }, /imageId/],
      [{ ...PHOTOS, imageId: `${'x'.repeat(513)}` }, /imageId.*512/],
      [{ ...PHOTOS, imageId: 7 }, /imageId.*string/],
      [{ ...PHOTOS, tenant: '.acme' }, /'tenant'/],
      [{ ...PHOTOS, domain: '..' }, /'domain'/],
      [{ ...PHOTOS, bucket: 'a/b' }, /'bucket'/],
      [{ tenant: 'acme', domain: 'news' }, /'bucket' is required/],
      [{ ...IMAGE_A, path: '/x' }, /unknown field 'path'/],
      [{ ...IMAGE_A, takedown: 'yes' }, /'takedown' must be true or false/],
      [[IMAGE_A], /JSON object/]
    ]
    for (const [body, message] of cases) {
      const response = await purge(app, body)
      assert.equal(response.statusCode, 400, JSON.stringify(body))
      assert.equal(response.headers['cache-control'], 'no-store')
      const { error } = response.json<{ error: { code: string, message: string } }>()
      assert.equal(error.code, 'INVALID_REQUEST', JSON.stringify(body))
      assert.match(error.message, message, JSON.stringify(body))
    }
    const notJson = await app.admin.inject({
      method: 'POST', url: '/admin/purge', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: '{"tenant":'
    })
    assert.equal(notJson.statusCode, 400)
    assert.equal(notJson.json<{ error: { code: string } }>().error.code, 'INVALID_REQUEST')

    const still = await get(app, `${BUCKET_PATH}/2026/a.jpg?w=32`)
    assert.deepEqual([still.cache, still.etag], ['HIT', cached.etag])
    assert.equal(app.logs.filter((line) => line.audit === true).length, 0)
  })
})

describe('purge.count', () => {
  test('each accepted purge is counted once with its tenant; a made-up tenant is tagged unknown', async (t) => {
    const statsd = await startFakeStatsd()
    t.after(async () => { await statsd.close() })
    const metrics = createMetrics({ enabled: true, host: '127.0.0.1', port: statsd.port, prefix: 'delivery_images.' }, { service: 'delivery-images', env: 'test', version: '0' })
    const app = await buildTestApp(t, { originals: { [A]: photo }, env: { ADMIN_TOKEN: TOKEN }, parts: { metrics } })
    assert.equal((await purge(app, IMAGE_A)).statusCode, 202)
    assert.equal((await purge(app, { ...PHOTOS, takedown: true })).statusCode, 202)
    assert.equal((await purge(app, { tenant: 'made-up', domain: 'x', bucket: 'y' })).statusCode, 202)
    assert.equal((await purge(app, { tenant: '..', domain: 'x', bucket: 'y' })).statusCode, 400)
    await metrics.close()
    const counted = (): string[] => statsd.packets.filter((packet) => packet.name === 'delivery_images.purge.count').map((packet) => String(packet.tags.tenant))
    await statsd.waitFor(() => counted().length >= 3)
    assert.deepEqual(counted(), ['acme', 'acme', 'unknown'])
  })
})
