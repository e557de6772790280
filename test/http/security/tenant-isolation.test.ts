import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildTestApp } from '../../helpers/build-app.ts'
import { makeJpeg } from '../../helpers/images.ts'
import { listenLocally, rawRequest } from '../../helpers/raw-http.ts'
import { createFsOrigin } from '../../../src/origins/fs-origin.ts'
import { isDeliveryError } from '../../../src/errors.ts'
import { createS3Client } from '../../../src/aws/s3-client.ts'
import { createS3Origin } from '../../../src/origins/s3-origin.ts'
import { createRemoteLogic } from '../../../src/remote/remote-logic.ts'
import { createBreaker } from '../../../src/resilience/breakers.ts'
import { startFakeLogicManager, staticLogic } from '../../../scripts/peers/fake-logic-manager.ts'

/**
 * a request only ever reads originals under its own <tenant>/<domain>/<bucket>/.
 * The logic has a wildcard bucket (any domain and bucket of `acme`, ad-hoc allowed) and a locked
 * bucket that requires a signature; dot segments must never reach the locked bucket's original.
 */
const logic = {
  buckets: {
    'acme/*/*': { adHoc: 'allow' },
    'acme/news/secure': { adHoc: 'deny', rules: { thumb: { width: 10 } } }
  },
  aliases: { open: { tenant: 'acme', domain: 'open', bucket: 'pub' } }
}

async function setup (t: Parameters<typeof buildTestApp>[0]) {
  const secret = await makeJpeg(64, 48)
  const app = await buildTestApp(t, {
    originals: { 'acme/news/secure/x.jpg': secret, 'acme/open/pub/ok.jpg': await makeJpeg(32, 32) },
    logic
  })
  return { app, secret }
}

const DOTS = ['.', '..', '%2e', '%2E', '%2e%2e', '.%2e', '.x', '%2ehidden']

test('a dot segment in a path part is a 400 naming it, on every route form', async (t) => {
  const { app, secret } = await setup(t)
  const urls: string[] = []
  for (const dot of DOTS) {
    for (const prefix of ['', '/api/v1']) {
      urls.push(`${prefix}/tenants/acme/domains/${dot}/buckets/${dot}/images/news/secure/x.jpg`)
      urls.push(`${prefix}/tenants/acme/domains/open/buckets/${dot}/images/../news/secure/x.jpg`)
      urls.push(`${prefix}/tenants/${dot}/domains/news/buckets/secure/images/x.jpg`)
      urls.push(`${prefix}/${dot}x/images/x.jpg`.replace('/x/images', '/images'))
    }
  }
  // Over a socket: app.inject would collapse the dots before the router sees them.
  const port = await listenLocally(app.server)
  for (const url of urls) {
    const response = await rawRequest(port, url)
    assert.notDeepEqual(response.body, secret, url)
    assert.equal(response.status, 400, url)
    const { error } = JSON.parse(response.body.toString()) as { error: { code: string } }
    assert.match(error.code, /^INVALID_(PARAMETER|IMAGE_ID)$/, url)
  }
  // The parts themselves, with a plain image id: INVALID_PARAMETER naming the part.
  for (const url of ['/tenants/acme/domains/./buckets/secure/images/x.jpg', '/tenants/acme/domains/%2e/buckets/secure/images/x.jpg']) {
    const response = await rawRequest(port, url)
    assert.equal(response.status, 400)
    const { error } = JSON.parse(response.body.toString()) as { error: { code: string, message: string } }
    assert.equal(error.code, 'INVALID_PARAMETER')
    assert.match(error.message, /domain/)
  }
})

test('the same bucket through valid parts is still served (the guard refuses only dots)', async (t) => {
  const { app } = await setup(t)
  for (const url of ['/tenants/acme/domains/open/buckets/pub/images/ok.jpg', '/api/v1/open/images/ok.jpg', '/open/images/ok.jpg?w=8']) {
    const response = await app.server.inject({ url })
    assert.equal(response.statusCode, 200, url)
    assert.match(String(response.headers['content-type']), /^image\/jpeg/)
  }
})

test('an absolute-form request line addresses the same image as the origin form', async (t) => {
  const { app } = await setup(t)
  const port = await listenLocally(app.server)
  const origin = await rawRequest(port, '/tenants/acme/domains/open/buckets/pub/images/ok.jpg?w=8')
  const absolute = await rawRequest(port, `http://127.0.0.1:${port}/tenants/acme/domains/open/buckets/pub/images/ok.jpg?w=8`)
  assert.equal(origin.status, 200)
  assert.equal(absolute.status, 200)
  assert.equal(absolute.headers.etag, origin.headers.etag)
  assert.deepEqual(absolute.body, origin.body)
})

test('the fs origin refuses keys that leave their bucket with a 404, not a 502', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-origin-guard-'))
  t.after(() => { fs.rmSync(root, { recursive: true, force: true }) })
  fs.mkdirSync(path.join(root, 'acme/news/secure'), { recursive: true })
  fs.writeFileSync(path.join(root, 'acme/news/secure/x.jpg'), await makeJpeg(8, 8))
  fs.writeFileSync(path.join(root, 'outside.jpg'), await makeJpeg(8, 8))
  const origin = createFsOrigin(root)
  const request = { maxBytes: 1 << 20 }
  assert.equal((await origin.stat('acme/news/secure/x.jpg', request)).size > 0, true)
  for (const key of ['acme/./../acme/news/secure/x.jpg', 'acme/././news/secure/x.jpg', 'acme/open/../news/secure/x.jpg', '../outside.jpg', 'acme/news/secure/../../../outside.jpg', 'acme/.x/y/z.jpg', 'acme/news']) {
    for (const call of [origin.stat, origin.get]) {
      await assert.rejects(call(key, request), (error: unknown) => isDeliveryError(error) && error.code === 'IMAGE_NOT_FOUND' && error.statusCode === 404, key)
    }
  }
})

test('remote logic never builds a URL from a dot part: no upstream call, the bucket does not exist', async (t) => {
  const lm = await startFakeLogicManager({ backend: staticLogic({ buckets: { 'acme/news/secure': { adHoc: 'deny' } }, aliases: {} }) })
  t.after(async () => { await lm.close() })
  const settings = { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 10, resetMs: 1000 }
  const locator = { app: 'LM', candidates: () => [lm.url] }
  const logic = createRemoteLogic({
    logicManager: locator,
    translator: locator,
    breakers: { logic: createBreaker('logic', settings), watermark: createBreaker('watermark', settings), alias: createBreaker('alias', settings) },
    cacheTtlMs: () => 1000
  })
  t.after(async () => { await logic.close() })
  const context = { requestId: 'r1' }
  for (const [domain, bucket] of [['.', '.'], ['..', 'x'], ['news', '..'], ['.news', 'secure']] as const) {
    assert.equal(await logic.getBucketLogic({ tenant: 'acme', domain, bucket }, context), null)
    assert.equal(await logic.getWatermark({ tenant: 'acme', domain, bucket }, context), null)
  }
  assert.equal(await logic.resolveAlias('..', context), null)
  assert.equal(lm.calls(), 0)
  assert.notEqual(await logic.getBucketLogic({ tenant: 'acme', domain: 'news', bucket: 'secure' }, context), null)
  assert.equal(lm.calls(), 1)
})

test('the S3 origin refuses keys with dot segments before any request leaves', async (t) => {
  const client = createS3Client({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })
  t.after(() => { client.destroy() })
  const breaker = createBreaker('origin', { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 10, resetMs: 1000 })
  const origin = createS3Origin({ client, bucket: 'originals', keyPrefix: '', breaker })
  for (const key of ['acme/./../acme/news/secure/x.jpg', 'acme/news/secure/../../other/x.jpg', 'acme/%2e/x/y.jpg', 'acme/.a/b/c.jpg']) {
    await assert.rejects(origin.stat(key, { maxBytes: 1024 }), (error: unknown) => isDeliveryError(error) && error.code === 'IMAGE_NOT_FOUND', key)
  }
  // A plain key does reach the (dead) endpoint: the refusal above is the guard, not the network.
  await assert.rejects(origin.stat('acme/news/secure/x.jpg', { maxBytes: 1024 }), (error: unknown) => isDeliveryError(error) && error.code !== 'IMAGE_NOT_FOUND')
})
