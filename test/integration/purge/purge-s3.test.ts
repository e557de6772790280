import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import pino from 'pino'
import sharp from 'sharp'
import { createS3Client } from '../../../src/aws/s3-client.ts'
import { createMemoryCache } from '../../../src/cache/memory-cache.ts'
import { createS3Cache } from '../../../src/cache/s3-cache.ts'
import { createTieredCache, type TieredCache } from '../../../src/cache/tiered-cache.ts'
import { createS3Origin } from '../../../src/origins/s3-origin.ts'
import { createBreaker } from '../../../src/resilience/breakers.ts'
import { buildTestApp, type TestApp } from '../../helpers/build-app.ts'
import { S3RVER_CREDENTIALS, S3RVER_REGION } from '../../../scripts/peers/s3-server.ts'
import { useS3Suite } from '../../helpers/s3-suite.ts'

const ORIGINALS = 'originals'
const CACHE = 'transformed-cache'
const CACHE_PREFIX = 'transformed/'
const IMAGES = '/tenants/t/domains/d/buckets/b/images'
const TOKEN = 'purge-token-0123456789'

const suite = useS3Suite({ buckets: [ORIGINALS, CACHE], originals: ORIGINALS, colour: '#3366cc' })

/** An instance with originals in S3 and the shared cache tier: its own memory, the common bucket. */
async function startInstance (t: TestContext): Promise<TestApp & { tiers: TieredCache }> {
  const settings = { region: S3RVER_REGION, endpoint: suite.s3.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS }
  const originClient = createS3Client(settings)
  const cacheClient = createS3Client({ ...settings, maxAttempts: 1 })
  const breaker = createBreaker('origin', { timeoutMs: 5000, errorThresholdPercent: 50, maxConcurrent: 64, resetMs: 1000 })
  const tiers = createTieredCache([
    createMemoryCache(64 * 1024 * 1024),
    createS3Cache({ client: cacheClient, bucket: CACHE, prefix: CACHE_PREFIX, logger: pino({ level: 'silent' }) })
  ])
  t.after(async () => {
    await tiers.flush()
    breaker.circuit.shutdown()
    originClient.destroy()
    cacheClient.destroy()
  })
  const app = await buildTestApp(t, {
    logic: { buckets: { 't/d/b': { adHoc: 'allow' } } },
    env: { ADMIN_TOKEN: TOKEN },
    parts: { origin: createS3Origin({ client: originClient, bucket: ORIGINALS, keyPrefix: '', breaker }), cache: tiers }
  })
  return Object.assign(app, { tiers })
}

async function objectExists (etag: string): Promise<boolean> {
  try {
    await suite.s3.client.send(new HeadObjectCommand({ Bucket: CACHE, Key: CACHE_PREFIX + etag.replaceAll('"', '') }))
    return true
  } catch {
    return false
  }
}

describe('purges and the shared S3 cache tier', () => {
  test('a purged output is not served from the cache bucket either; the new one is stored under its new ETag', async (t) => {
    await suite.upload('shared.jpg', await suite.jpeg(400, 200))
    const url = `${IMAGES}/shared.jpg?w=100&fm=webp`
    const first = await startInstance(t)
    const transformed = await first.server.inject(url)
    assert.equal(transformed.headers['x-cache'], 'MISS')
    await first.tiers.flush()
    const oldEtag = String(transformed.headers.etag)
    assert.ok(await objectExists(oldEtag), 'the output is in the cache bucket')

    // A fresh instance (empty memory) that has the purge: the object under the old key is never read.
    const purged = await startInstance(t)
    const answer = await purged.admin.inject({
      method: 'POST', url: '/admin/purge', headers: { authorization: `Bearer ${TOKEN}` }, payload: { tenant: 't', domain: 'd', bucket: 'b', imageId: 'shared.jpg' }
    })
    assert.equal(answer.statusCode, 202)
    const fresh = await purged.server.inject(url)
    assert.equal(fresh.statusCode, 200)
    assert.equal(fresh.headers['x-cache'], 'MISS')
    assert.notEqual(fresh.headers.etag, oldEtag)
    assert.equal((await sharp(fresh.rawPayload).metadata()).width, 100)
    await purged.tiers.flush()
    assert.ok(await objectExists(String(fresh.headers.etag)), 'the new output is shared under its new key')

    // The control: an instance without the purge is served the old output from the bucket.
    const unpurged = await startInstance(t)
    const shared = await unpurged.server.inject(url)
    assert.deepEqual([shared.headers['x-cache'], shared.headers.etag], ['HIT', oldEtag])
  })
})
