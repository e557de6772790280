import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import pino from 'pino'
import sharp from 'sharp'
import { buildApp, type App } from '../../../src/app.ts'
import { createS3Client } from '../../../src/aws/s3-client.ts'
import type { CachedImage } from '../../../src/cache/image-cache.ts'
import { createMemoryCache } from '../../../src/cache/memory-cache.ts'
import { createS3Cache, type S3Cache, type S3CacheErrorKind } from '../../../src/cache/s3-cache.ts'
import { createTieredCache, type TieredCache } from '../../../src/cache/tiered-cache.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { createNoopMetrics } from '../../../src/observability/metrics.ts'
import { createS3Origin } from '../../../src/origins/s3-origin.ts'
import { createBreaker } from '../../../src/resilience/breakers.ts'
import { S3RVER_CREDENTIALS, S3RVER_REGION } from '../../../scripts/peers/s3-server.ts'
import { useS3Suite } from '../../helpers/s3-suite.ts'
import { BUCKET_PATH, buildTestApp } from '../../helpers/build-app.ts'
import { closedPort } from '../../helpers/raw-http.ts'

const ORIGINALS = 'originals'
const CACHE = 'transformed-cache'
const CACHE_PREFIX = 'transformed/'
const IMAGES = '/tenants/t/domains/d/buckets/b/images'

const suite = useS3Suite({ buckets: [ORIGINALS, CACHE], originals: ORIGINALS, colour: '#cc6633' })
const { jpeg, upload } = suite

interface Instance {
  app: App
  cache: TieredCache
  errors: S3CacheErrorKind[]
  logs: Array<{ level: number, msg: string }>
}

/** One service instance: its own memory tier, the shared cache bucket at `cacheEndpoint`. */
function startInstance (t: TestContext, cacheEndpoint = suite.s3.endpoint): Instance {
  const config = loadConfig({
    env: {
      ORIGIN: 's3',
      S3_BUCKET: ORIGINALS,
      S3_REGION: S3RVER_REGION,
      S3_ENDPOINT: suite.s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      CACHE_S3_BUCKET: CACHE,
      CACHE_S3_PREFIX: CACHE_PREFIX,
      LOGIC_FILE: suite.logicFile,
      STATSD_ENABLED: 'false'
    }
  })
  assert.ok(config.s3.bucket !== null && config.cache.s3Bucket !== null)
  const logs: Instance['logs'] = []
  const logger = pino({ level: 'info' }, new Writable({
    write (line: Buffer, _encoding, callback) {
      logs.push(JSON.parse(line.toString()) as Instance['logs'][number])
      callback()
    }
  }))
  const settings = { region: config.s3.region, endpoint: config.s3.endpoint, forcePathStyle: config.s3.forcePathStyle, credentials: S3RVER_CREDENTIALS }
  const originClient = createS3Client(settings)
  const cacheClient = createS3Client({ ...settings, endpoint: cacheEndpoint, maxAttempts: 1 })
  const breaker = createBreaker('origin', config.breakers.origin)
  const errors: S3CacheErrorKind[] = []
  const cache = createTieredCache([
    createMemoryCache(config.cache.memoryMaxBytes),
    createS3Cache({ client: cacheClient, bucket: config.cache.s3Bucket, prefix: config.cache.s3Prefix, logger, onError: (kind) => errors.push(kind) })
  ])
  const origin = createS3Origin({ client: originClient, bucket: config.s3.bucket, keyPrefix: config.s3.keyPrefix, breaker })
  const app = buildApp({ config, logger, origin, cache })
  t.after(async () => {
    await app.server.close()
    await cache.flush()
    breaker.circuit.shutdown()
    originClient.destroy()
    cacheClient.destroy()
  })
  return { app, cache, errors, logs }
}

describe('shared transformed-image cache in S3 (CACHE_S3_BUCKET)', () => {
  test('what one instance transformed, another serves from the cache bucket', async (t) => {
    await upload('shared.jpg', await jpeg(400, 300))
    const first = startInstance(t)
    const miss = await first.app.server.inject({ url: `${IMAGES}/shared.jpg?w=200&fm=webp` })
    assert.equal(miss.statusCode, 200)
    assert.equal(miss.headers['x-cache'], 'MISS')
    await first.cache.flush()

    const etag = String(miss.headers.etag).replaceAll('"', '')
    const stored = await suite.s3.client.send(new HeadObjectCommand({ Bucket: CACHE, Key: CACHE_PREFIX + etag }))
    assert.equal(stored.ContentType, 'image/webp')
    assert.equal(stored.ContentLength, miss.rawPayload.length)
    assert.equal(stored.Metadata?.etag, etag)

    const second = startInstance(t)
    const hit = await second.app.server.inject({ url: `${IMAGES}/shared.jpg?w=200&fm=webp` })
    assert.equal(hit.statusCode, 200)
    assert.equal(hit.headers['x-cache'], 'HIT')
    assert.equal(hit.headers.etag, miss.headers.etag)
    assert.equal(hit.headers['content-type'], 'image/webp')
    assert.equal(hit.headers['last-modified'], miss.headers['last-modified'])
    assert.deepEqual(hit.rawPayload, miss.rawPayload)
    assert.deepEqual(second.errors, [])
  })

  test('a replaced original is transformed again, never served from the old cached output', async (t) => {
    await upload('changing.jpg', await jpeg(400, 200))
    const first = startInstance(t)
    const old = await first.app.server.inject({ url: `${IMAGES}/changing.jpg?w=100` })
    assert.equal((await sharp(old.rawPayload).metadata()).height, 50)
    await first.cache.flush()

    await upload('changing.jpg', await jpeg(200, 400))
    const second = startInstance(t)
    const fresh = await second.app.server.inject({ url: `${IMAGES}/changing.jpg?w=100` })
    assert.equal(fresh.statusCode, 200)
    assert.equal(fresh.headers['x-cache'], 'MISS')
    assert.notEqual(fresh.headers.etag, old.headers.etag)
    assert.equal((await sharp(fresh.rawPayload).metadata()).height, 200)
  })

  test('a cache bucket that is down degrades to misses, a log line and an error report', async (t) => {
    await upload('degraded.jpg', await jpeg(300, 300))
    const instance = startInstance(t, `http://127.0.0.1:${await closedPort()}`)
    const response = await instance.app.server.inject({ url: `${IMAGES}/degraded.jpg?w=50` })
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['x-cache'], 'MISS')
    assert.equal((await sharp(response.rawPayload).metadata()).width, 50)
    await instance.cache.flush()
    assert.deepEqual(instance.errors, ['get', 'set'])
    assert.ok(instance.logs.some((line) => line.level === 40 && line.msg.startsWith('Shared image cache get failed')))

    // The memory tier still answers.
    const again = await instance.app.server.inject({ url: `${IMAGES}/degraded.jpg?w=50` })
    assert.equal(again.headers['x-cache'], 'HIT')
  })

  test('an S3 hit is copied into memory, and foreign or unfinished objects are misses', async () => {
    const errors: S3CacheErrorKind[] = []
    const shared = createS3Cache({ client: suite.s3.client, bucket: CACHE, prefix: 'unit/', logger: pino({ level: 'silent' }), onError: (kind) => errors.push(kind) })
    const image: CachedImage = { bytes: await jpeg(8, 8), contentType: 'image/jpeg', lastModified: new Date('2024-05-01T10:00:00Z') }
    shared.set('k1', image)
    await shared.flush()

    const memory = createMemoryCache(1024 * 1024)
    const tiered = createTieredCache([memory, shared])
    assert.deepEqual(await tiered.get('k1'), image)
    assert.deepEqual(await memory.get('k1'), image)
    assert.equal(await tiered.get('absent'), undefined)
    assert.deepEqual(errors, [])

    // Written by something else: no metadata of ours.
    await suite.s3.client.send(new PutObjectCommand({ Bucket: CACHE, Key: 'unit/k2', Body: image.bytes, ContentType: 'image/jpeg' }))
    assert.equal(await shared.get('k2'), undefined)
    assert.deepEqual(errors, ['get'])
  })

  test('uploads beyond the in-flight limit are dropped and reported', async () => {
    const errors: S3CacheErrorKind[] = []
    const shared: S3Cache = createS3Cache({
      client: suite.s3.client,
      bucket: CACHE,
      prefix: 'dropped/',
      logger: pino({ level: 'silent' }),
      onError: (kind) => errors.push(kind),
      maxPendingPuts: 1
    })
    const image: CachedImage = { bytes: Buffer.from('x'), contentType: 'image/png', lastModified: new Date() }
    shared.set('a', image)
    shared.set('b', image)
    await shared.flush()
    assert.deepEqual(errors, ['set_dropped'])
    const listed = await suite.s3.client.send(new ListObjectsV2Command({ Bucket: CACHE, Prefix: 'dropped/' }))
    assert.deepEqual(listed.Contents?.map((object) => object.Key), ['dropped/a'])
  })
})

describe('the app wires the shared tier\'s failures to transformation.cache.error', () => {
  test('a cache bucket that does not exist: each failed read and write is counted with its kind', async (t) => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY }
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey
    t.after(() => {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID; else process.env.AWS_ACCESS_KEY_ID = saved.id
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY; else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
    })
    const kinds: string[] = []
    const app = await buildTestApp(t, {
      originals: { 'acme/news/photos/a.jpg': await jpeg(120, 80) },
      env: { CACHE_S3_BUCKET: 'no-such-cache-bucket', S3_ENDPOINT: suite.s3.endpoint, S3_FORCE_PATH_STYLE: 'true', S3_REGION: S3RVER_REGION },
      parts: { metrics: { ...createNoopMetrics(), cacheError: (kind) => { kinds.push(kind) } } }
    })
    const response = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=40`)
    assert.equal(response.statusCode, 200)
    await app.flush()
    assert.deepEqual(kinds, ['get', 'set'])
  })
})
