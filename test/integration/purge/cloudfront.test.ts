import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import pino from 'pino'
import { buildApp } from '../../../src/app.ts'
import { createCloudFrontInvalidator } from '../../../src/aws/cloudfront.ts'
import { ConfigError, loadConfig } from '../../../src/config/load.ts'
import { BUCKET, BUCKET_PATH, buildTestApp, defaultLogic, type TestApp } from '../../helpers/build-app.ts'
import { startFakeCloudFront, type FakeCloudFront } from '../../helpers/fake-cloudfront.ts'
import { makeJpeg } from '../../helpers/images.ts'

const TOKEN = 'purge-token-0123456789'
const DISTRIBUTION = 'EDFDVBD6EXAMPLE'

let cloudfront: FakeCloudFront
let photo: Buffer
before(async () => {
  cloudfront = await startFakeCloudFront({ distributionId: DISTRIBUTION })
  photo = await makeJpeg(64, 32)
})
after(async () => { await cloudfront.close() })

/** Two aliases of the purged bucket, and one of another bucket that must not be purged. */
function logic (): unknown {
  const document = defaultLogic() as { aliases: Record<string, unknown> }
  return {
    ...document,
    aliases: { shots: BUCKET, 'news-pics': BUCKET, locked: { tenant: 'acme', domain: 'news', bucket: 'locked' } }
  }
}

async function setup (t: TestContext, distributionId = DISTRIBUTION): Promise<TestApp> {
  cloudfront.setMode('ok')
  const cdn = createCloudFrontInvalidator({
    region: 'us-east-1',
    distributionId,
    endpoint: cloudfront.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    maxAttempts: 2
  })
  t.after(() => { cdn.close() })
  return await buildTestApp(t, { originals: { 'acme/news/photos/2026/a.jpg': photo }, logic: logic(), env: { ADMIN_TOKEN: TOKEN }, parts: { cdn } })
}

async function purge (app: TestApp, body: Record<string, unknown>) {
  const response = await app.admin.inject({ method: 'POST', url: '/admin/purge', headers: { authorization: `Bearer ${TOKEN}` }, payload: body })
  return { status: response.statusCode, answer: response.json<{ purgeId: string, paths: string[], cdn: { provider: string, invalidationId: string | null, error?: { code: string, message: string } } }>() }
}

describe('CloudFront invalidations of purges (CDN_PROVIDER=cloudfront)', () => {
  test('an image purge invalidates the bucket route, its /api/v1 form and every alias form of the bucket', async (t) => {
    const app = await setup(t)
    const seen = cloudfront.requests.length
    const { status, answer } = await purge(app, { tenant: 'acme', domain: 'news', bucket: 'photos', imageId: '2026/a.jpg' })
    assert.equal(status, 202)
    const expected = [
      '/tenants/acme/domains/news/buckets/photos/images/2026/a.jpg*',
      '/api/v1/tenants/acme/domains/news/buckets/photos/images/2026/a.jpg*',
      '/news-pics/images/2026/a.jpg*',
      '/api/v1/news-pics/images/2026/a.jpg*',
      '/shots/images/2026/a.jpg*',
      '/api/v1/shots/images/2026/a.jpg*'
    ]
    assert.deepEqual(answer.paths, expected)

    const received = cloudfront.requests.slice(seen)
    assert.equal(received.length, 1)
    assert.equal(received[0]?.distributionId, DISTRIBUTION)
    assert.equal(received[0]?.callerReference, answer.purgeId)
    assert.equal(received[0]?.quantity, expected.length)
    assert.deepEqual(received[0]?.paths, expected)
    assert.match(String(received[0]?.headers['content-type']), /xml/)
    assert.match(String(received[0]?.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/cloudfront\/aws4_request/)
    assert.equal(answer.cdn.provider, 'cloudfront')
    assert.match(String(answer.cdn.invalidationId), /^I\d{13}$/)
    assert.equal(answer.cdn.error, undefined)

    const audit = app.logs.find((line) => line.audit === true)
    assert.deepEqual((audit?.cdn as { invalidationId?: string } | undefined)?.invalidationId, answer.cdn.invalidationId)
  })

  test('a bucket purge invalidates the bucket\'s images under every route, one invalidation per purge', async (t) => {
    const app = await setup(t)
    const seen = cloudfront.requests.length
    const first = await purge(app, { tenant: 'acme', domain: 'news', bucket: 'photos' })
    const second = await purge(app, { tenant: 'acme', domain: 'news', bucket: 'photos', takedown: true })
    assert.deepEqual(first.answer.paths, [
      '/tenants/acme/domains/news/buckets/photos/images/*',
      '/api/v1/tenants/acme/domains/news/buckets/photos/images/*',
      '/news-pics/images/*',
      '/api/v1/news-pics/images/*',
      '/shots/images/*',
      '/api/v1/shots/images/*'
    ])
    assert.deepEqual(cloudfront.requests.slice(seen).map((request) => request.paths), [first.answer.paths, first.answer.paths])
    assert.notEqual(first.answer.cdn.invalidationId, second.answer.cdn.invalidationId)
    assert.equal((await app.server.inject(`${BUCKET_PATH}/2026/a.jpg?w=32`)).statusCode, 451)
  })

  test('a failing CloudFront: the purge still holds in the service, and the 202 says the CDN part failed', async (t) => {
    const app = await setup(t)
    const url = `${BUCKET_PATH}/2026/a.jpg?w=32`
    const before = await app.server.inject(url)

    cloudfront.setMode('denied')
    const denied = await purge(app, { tenant: 'acme', domain: 'news', bucket: 'photos', imageId: '2026/a.jpg' })
    assert.equal(denied.status, 202)
    assert.equal(denied.answer.cdn.provider, 'cloudfront')
    assert.equal(denied.answer.cdn.invalidationId, null)
    assert.equal(denied.answer.cdn.error?.code, 'AccessDenied')
    assert.match(String(denied.answer.cdn.error?.message), /not authorized/)
    const after = await app.server.inject(url)
    assert.equal(after.headers['x-cache'], 'MISS')
    assert.notEqual(after.headers.etag, before.headers.etag)
    assert.ok(app.logs.some((line) => line.level === 50 && line.purgeId === denied.answer.purgeId))

    // 5xx is retried by the SDK (twice here), then reported the same way.
    cloudfront.setMode('unavailable')
    const seen = cloudfront.requests.length
    const unavailable = await purge(app, { tenant: 'acme', domain: 'news', bucket: 'photos', imageId: '2026/a.jpg', takedown: true })
    assert.equal(unavailable.status, 202)
    assert.equal(unavailable.answer.cdn.error?.code, 'ServiceUnavailable')
    assert.equal(cloudfront.requests.length - seen, 2)
    assert.equal((await app.server.inject(url)).statusCode, 451)
  })

  test('CDN_PROVIDER=cloudfront without CDN_DISTRIBUTION_ID stops the start naming it', async () => {
    const configDir = path.join(os.tmpdir(), 'delivery-images-none')
    const config = loadConfig({ env: { CDN_PROVIDER: 'cloudfront', STATSD_ENABLED: 'false' }, configDir })
    assert.throws(() => buildApp({ config, logger: pino({ level: 'silent' }) }),
      (error: unknown) => error instanceof ConfigError && /CDN_DISTRIBUTION_ID/.test(error.message))
    const configured = loadConfig({ env: { CDN_PROVIDER: 'cloudfront', CDN_DISTRIBUTION_ID: DISTRIBUTION, STATSD_ENABLED: 'false' }, configDir })
    const app = buildApp({ config: configured, logger: pino({ level: 'silent' }) })
    await app.server.close()
    await app.flush()
    for (const breaker of Object.values(app.breakers)) breaker.circuit.shutdown()
  })
})
