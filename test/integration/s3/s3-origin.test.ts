import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, test, type TestContext } from 'node:test'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import pino from 'pino'
import sharp from 'sharp'
import { buildApp, type App } from '../../../src/app.ts'
import { createS3Client } from '../../../src/aws/s3-client.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { DeliveryError } from '../../../src/errors.ts'
import { createS3Origin } from '../../../src/origins/s3-origin.ts'
import { createBreaker, type Breaker } from '../../../src/resilience/breakers.ts'
import { S3RVER_CREDENTIALS, S3RVER_REGION } from '../../../scripts/peers/s3-server.ts'
import { useS3Suite } from '../../helpers/s3-suite.ts'
import { closedPort } from '../../helpers/raw-http.ts'

const ORIGINALS = 'originals'
const KEY_PREFIX = 'images/'
const IMAGES = '/tenants/t/domains/d/buckets/b/images'

const suite = useS3Suite({ buckets: [ORIGINALS], originals: ORIGINALS, keyPrefix: KEY_PREFIX, colour: '#3366cc' })
const { jpeg, upload } = suite

interface Service { app: App, breaker: Breaker }

/** The service with ORIGIN=s3 against `endpoint`, built from environment variables like in production. */
function startService (t: TestContext, options: { endpoint?: string, env?: Record<string, string>, maxAttempts?: number } = {}): Service {
  const config = loadConfig({
    env: {
      ORIGIN: 's3',
      S3_BUCKET: ORIGINALS,
      S3_REGION: S3RVER_REGION,
      S3_ENDPOINT: options.endpoint ?? suite.s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_KEY_PREFIX: KEY_PREFIX,
      LOGIC_FILE: suite.logicFile,
      STATSD_ENABLED: 'false',
      ...options.env
    }
  })
  assert.ok(config.s3.bucket !== null)
  const client = createS3Client({
    region: config.s3.region,
    endpoint: config.s3.endpoint,
    forcePathStyle: config.s3.forcePathStyle,
    credentials: S3RVER_CREDENTIALS,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts })
  })
  const breaker = createBreaker('origin', config.breakers.origin, { volumeThreshold: 2 })
  const origin = createS3Origin({ client, bucket: config.s3.bucket, keyPrefix: config.s3.keyPrefix, breaker })
  const app = buildApp({ config, logger: pino({ level: 'silent' }), origin })
  t.after(async () => {
    await app.server.close()
    breaker.circuit.shutdown()
    client.destroy()
  })
  return { app, breaker }
}

function errorCode (body: string): string {
  return (JSON.parse(body) as { error: { code: string } }).error.code
}

/**
 * A storage whose GetObject answers `total` bytes, announced or chunked, and records how many it
 * managed to send before the client hung up.
 */
async function startStreamingStorage (t: TestContext, total: number, announce: boolean): Promise<{ endpoint: string, sent: Promise<number> }> {
  let resolveSent: (bytes: number) => void = () => {}
  const sent = new Promise<number>((resolve) => { resolveSent = resolve })
  const server = http.createServer((request, response) => {
    response.writeHead(200, {
      'content-type': 'image/jpeg',
      etag: '"0123456789abcdef"',
      'last-modified': new Date(0).toUTCString(),
      ...(announce ? { 'content-length': String(total) } : {})
    })
    let count = 0
    const chunk = Buffer.alloc(64 * 1024)
    const body = Readable.from((function * () {
      while (count < total) {
        count += chunk.length
        yield chunk
      }
    })())
    pipeline(body, response).catch(() => {}).finally(() => { resolveSent(count) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent }
}

describe('ORIGIN=s3 against an S3-protocol server', () => {
  test('a transformed original from S3: miss, then hit, then 304', async (t) => {
    await upload('photos/a.jpg', await jpeg(400, 200))
    const { app } = startService(t)
    const head = await suite.s3.client.send(new HeadObjectCommand({ Bucket: ORIGINALS, Key: `${KEY_PREFIX}t/d/b/photos/a.jpg` }))

    const first = await app.server.inject({ url: `${IMAGES}/photos/a.jpg?w=100` })
    assert.equal(first.statusCode, 200)
    assert.equal(first.headers['x-cache'], 'MISS')
    assert.equal(first.headers['content-type'], 'image/jpeg')
    assert.equal(first.headers['last-modified'], head.LastModified?.toUTCString())
    const meta = await sharp(first.rawPayload).metadata()
    assert.deepEqual([meta.width, meta.height], [100, 50])

    const second = await app.server.inject({ url: `${IMAGES}/photos/a.jpg?w=100` })
    assert.equal(second.statusCode, 200)
    assert.equal(second.headers['x-cache'], 'HIT')
    assert.equal(second.headers.etag, first.headers.etag)
    assert.deepEqual(second.rawPayload, first.rawPayload)

    const revalidated = await app.server.inject({ url: `${IMAGES}/photos/a.jpg?w=100`, headers: { 'if-none-match': String(first.headers.etag) } })
    assert.equal(revalidated.statusCode, 304)
    assert.equal(revalidated.rawPayload.length, 0)
  })

  test('without parameters the S3 object is delivered byte for byte', async (t) => {
    const original = await jpeg(64, 48)
    await upload('plain.jpg', original)
    const { app } = startService(t)
    const response = await app.server.inject({ url: `${IMAGES}/plain.jpg` })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.rawPayload, original)
  })

  test('a missing key is a 404 that does not count against the breaker', async (t) => {
    const { app, breaker } = startService(t)
    for (let i = 0; i < 4; i++) {
      const response = await app.server.inject({ url: `${IMAGES}/missing/${i}.jpg?w=10` })
      assert.equal(response.statusCode, 404)
      assert.equal(errorCode(response.body), 'IMAGE_NOT_FOUND')
    }
    assert.equal(breaker.circuit.opened, false)
    assert.equal(breaker.circuit.stats.failures, 0)
  })

  test('an original over LIMITS_MAX_SOURCE_BYTES is a 413', async (t) => {
    const big = await jpeg(300, 300)
    await upload('big.jpg', big)
    const { app } = startService(t, { env: { LIMITS_MAX_SOURCE_BYTES: String(big.length - 1) } })
    for (const url of [`${IMAGES}/big.jpg?w=10`, `${IMAGES}/big.jpg`]) {
      const response = await app.server.inject({ url })
      assert.equal(response.statusCode, 413)
      assert.equal(errorCode(response.body), 'SOURCE_TOO_LARGE')
    }
  })

  test('replacing the original in S3 changes the ETag and the delivered image once the version is checked again', async (t) => {
    await upload('replaced.jpg', await jpeg(400, 200))
    // Every request checks the version (the default trusts one for ORIGIN_VERSION_TTL_MS).
    const { app } = startService(t, { env: { ORIGIN_VERSION_TTL_MS: '0' } })
    const before = await app.server.inject({ url: `${IMAGES}/replaced.jpg?w=100` })
    assert.equal(before.statusCode, 200)
    assert.equal((await sharp(before.rawPayload).metadata()).height, 50)

    await upload('replaced.jpg', await jpeg(200, 400))
    const after = await app.server.inject({ url: `${IMAGES}/replaced.jpg?w=100` })
    assert.equal(after.statusCode, 200)
    assert.equal(after.headers['x-cache'], 'MISS')
    assert.notEqual(after.headers.etag, before.headers.etag)
    assert.equal((await sharp(after.rawPayload).metadata()).height, 200)
  })

  test('a storage that accepts connections but never answers is a 504', async (t) => {
    const silent = http.createServer(() => { /* never answers */ })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    t.after(async () => {
      silent.closeAllConnections()
      await new Promise((resolve) => silent.close(resolve))
    })
    const { port } = silent.address() as AddressInfo
    const { app } = startService(t, { endpoint: `http://127.0.0.1:${port}`, env: { BREAKER_ORIGIN_TIMEOUT_MS: '300' } })
    const response = await app.server.inject({ url: `${IMAGES}/photos/a.jpg?w=100` })
    assert.equal(response.statusCode, 504)
    assert.equal(errorCode(response.body), 'UPSTREAM_TIMEOUT')
  })

  test('every S3 call carries the request id, and the GET is pinned to the version the ETag came from', async (t) => {
    await upload('photos/pinned.jpg', await jpeg(200, 100))
    const seen: Array<{ method: string, requestId: string | undefined, ifMatch: string | undefined }> = []
    const target = new URL(suite.s3.endpoint)
    // A recording proxy in front of the S3 server.
    const proxy = http.createServer((request, response) => {
      seen.push({ method: request.method ?? '', requestId: request.headers['x-request-id'] as string | undefined, ifMatch: request.headers['if-match'] })
      const upstream = http.request({ host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      })
      request.pipe(upstream)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    t.after(async () => {
      proxy.closeAllConnections()
      await new Promise((resolve) => proxy.close(resolve))
    })
    const { port } = proxy.address() as AddressInfo
    const { app } = startService(t, { endpoint: `http://127.0.0.1:${port}` })
    const response = await app.server.inject({ url: `${IMAGES}/photos/pinned.jpg?w=50`, headers: { 'x-request-id': 'trace-me-123' } })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(seen.map((call) => call.method), ['HEAD', 'GET'])
    assert.ok(seen.every((call) => call.requestId === 'trace-me-123'))
    assert.match(seen[1]?.ifMatch ?? '', /^"[0-9a-f]{32}"$/)
  })

  test('a throttling storage (503 SlowDown) is a 502', async (t) => {
    const throttling = http.createServer((request, response) => {
      response.writeHead(503, { 'content-type': 'application/xml' })
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>')
    })
    await new Promise<void>((resolve) => throttling.listen(0, '127.0.0.1', resolve))
    t.after(async () => {
      throttling.closeAllConnections()
      await new Promise((resolve) => throttling.close(resolve))
    })
    const { port } = throttling.address() as AddressInfo
    // One attempt: the SDK's own backoff between retries would only slow the test down.
    const { app } = startService(t, { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 })
    const response = await app.server.inject({ url: `${IMAGES}/photos/a.jpg?w=100` })
    assert.equal(response.statusCode, 502)
    assert.equal(errorCode(response.body), 'UPSTREAM_ERROR')
  })

  test('a storage that is down is a 502, then the breaker opens: 503', async (t) => {
    const { app, breaker } = startService(t, { endpoint: `http://127.0.0.1:${await closedPort()}` })
    for (let i = 0; i < 2; i++) {
      const response = await app.server.inject({ url: `${IMAGES}/photos/a.jpg?w=100` })
      assert.equal(response.statusCode, 502)
      assert.equal(errorCode(response.body), 'UPSTREAM_ERROR')
    }
    assert.equal(breaker.circuit.opened, true)
    const response = await app.server.inject({ url: `${IMAGES}/photos/a.jpg?w=100` })
    assert.equal(response.statusCode, 503)
    assert.equal(errorCode(response.body), 'DEPENDENCY_UNAVAILABLE')
  })

  for (const announce of [true, false]) {
    test(`an object over the limit is refused without downloading it (${announce ? 'Content-Length' : 'chunked'})`, async (t) => {
      const total = 32 * 1024 * 1024
      const storage = await startStreamingStorage(t, total, announce)
      const client = createS3Client({ region: S3RVER_REGION, endpoint: storage.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS })
      const breaker = createBreaker('origin', { timeoutMs: 5000, errorThresholdPercent: 50, maxConcurrent: 10, resetMs: 1000 })
      t.after(() => {
        breaker.circuit.shutdown()
        client.destroy()
      })
      const origin = createS3Origin({ client, bucket: ORIGINALS, keyPrefix: '', breaker })
      await assert.rejects(origin.get('t/d/b/huge.jpg', { maxBytes: 1024 * 1024 }), (error) => {
        assert.ok(error instanceof DeliveryError)
        assert.equal(error.code, 'SOURCE_TOO_LARGE')
        return true
      })
      assert.ok(await storage.sent < total, 'the client hung up before the whole object was sent')
    })
  }
})
