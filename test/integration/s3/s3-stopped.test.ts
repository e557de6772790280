import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import pino from 'pino'
import sharp from 'sharp'
import { buildApp } from '../../../src/app.ts'
import { createS3Client } from '../../../src/aws/s3-client.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { createS3Origin } from '../../../src/origins/s3-origin.ts'
import { createBreaker } from '../../../src/resilience/breakers.ts'
import { S3RVER_CREDENTIALS, S3RVER_REGION, startS3Server } from '../../../scripts/peers/s3-server.ts'

const IMAGES = '/tenants/t/domains/d/buckets/b/images'

/**
 * with S3 really stopped after warming, cached variants are still served (X-Cache:
 * STALE), while what needs the original's bytes fails. ORIGIN_VERSION_TTL_MS=0, so every request
 * asks S3 for the version and meets its failure.
 */
test('S3 stopped after warming: cached variants 200 STALE, misses 502/503/504', async (t) => {
  const s3 = await startS3Server({ buckets: ['originals'] })
  let stopped = false
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 's3-stopped-'))
  await fs.writeFile(path.join(dir, 'logic.json'), JSON.stringify({ buckets: { 't/d/b': { adHoc: 'allow' } } }))
  const photo = await sharp({ create: { width: 90, height: 60, channels: 3, background: '#884422' } }).jpeg().toBuffer()
  await s3.client.send(new PutObjectCommand({ Bucket: 'originals', Key: 't/d/b/p.jpg', Body: photo }))
  const config = loadConfig({
    env: { ORIGIN: 's3', S3_BUCKET: 'originals', S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true', LOGIC_FILE: path.join(dir, 'logic.json'), STATSD_ENABLED: 'false', ORIGIN_VERSION_TTL_MS: '0' },
    configDir: dir
  })
  const client = createS3Client({ region: S3RVER_REGION, endpoint: s3.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 })
  const breaker = createBreaker('origin', { ...config.breakers.origin, timeoutMs: 500 }, { volumeThreshold: 2 })
  const app = buildApp({ config, logger: pino({ level: 'silent' }), origin: createS3Origin({ client, bucket: 'originals', keyPrefix: '', breaker }) })
  t.after(async () => {
    await app.server.close()
    breaker.circuit.shutdown()
    client.destroy()
    if (!stopped) await s3.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  const warm = await app.server.inject(`${IMAGES}/p.jpg?w=40`)
  assert.equal(warm.headers['x-cache'], 'MISS')
  await s3.close()
  stopped = true

  // Several rounds: the breaker opens on the way, and a stale answer holds either way.
  for (let round = 0; round < 4; round++) {
    const cached = await app.server.inject(`${IMAGES}/p.jpg?w=40`)
    assert.equal(cached.statusCode, 200, `round ${round}`)
    assert.equal(cached.headers['x-cache'], 'STALE')
    assert.deepEqual(cached.rawPayload, warm.rawPayload)
    const revalidated = await app.server.inject({ url: `${IMAGES}/p.jpg?w=40`, headers: { 'if-none-match': String(warm.headers.etag) } })
    assert.equal(revalidated.statusCode, 304)
    assert.equal(revalidated.headers['x-cache'], 'STALE')
    const miss = await app.server.inject(`${IMAGES}/p.jpg?w=41`)
    assert.ok([502, 503, 504].includes(miss.statusCode), `a miss needs the original: ${miss.statusCode}`)
    const passthrough = await app.server.inject(`${IMAGES}/p.jpg`)
    assert.ok([502, 503, 504].includes(passthrough.statusCode), `a passthrough needs the original: ${passthrough.statusCode}`)
  }
  assert.equal(breaker.circuit.opened, true, 'S3 really failed')
})
