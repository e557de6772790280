import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import sharp from 'sharp'
import { startService } from '../helpers/service-process.ts'
import { startFakeEureka } from '../../scripts/peers/fake-eureka.ts'

let dir: string
let env: Record<string, string>

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-shutdown-'))
  const originals = path.join(dir, 'originals', 'acme', 'news', 'photos')
  fs.mkdirSync(originals, { recursive: true })
  // Noise compresses badly and blurs slowly: each request below keeps a transformation busy for a while.
  const noise = await sharp({ create: { width: 2400, height: 1600, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg().toBuffer()
  fs.writeFileSync(path.join(originals, 'noise.jpg'), noise)
  fs.writeFileSync(path.join(dir, 'logic.json'), JSON.stringify({ buckets: { 'acme/news/photos': { adHoc: 'allow' } } }))
  env = { ORIGIN_FS_ROOT: path.join(dir, 'originals'), LOGIC_FILE: path.join(dir, 'logic.json'), SHUTDOWN_DRAIN_MS: '1500', LIMITS_MAX_CONCURRENT_TRANSFORMS: '1' }
})
after(() => { fs.rmSync(dir, { recursive: true, force: true }) })

/** Waits until the admin port's limiter holds `count` transformations, running or queued (bounded). */
async function untilInFlight (adminUrl: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const state = await (await fetch(`${adminUrl}/admin/limiter`)).json() as { running: number, waiting: number }
    if (state.running + state.waiting >= count) return
    if (Date.now() > deadline) throw new Error(`never ${count} transformations in flight: ${JSON.stringify(state)}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const slowImage = (i: number) => `/tenants/acme/domains/news/buckets/photos/images/noise.jpg?w=${2000 + i}&blur=20&fm=png`

test('SIGTERM: health 503 and OUT_OF_SERVICE in Eureka, in-flight requests finish with 200, deregistration, exit 0', async (t) => {
  const eureka = await startFakeEureka()
  t.after(async () => { await eureka.close() })
  const service = await startService({
    ...env,
    EUREKA_ENABLED: 'true',
    EUREKA_HOST: eureka.host,
    EUREKA_PORT: String(eureka.port),
    EUREKA_SERVICE_PATH: eureka.servicePath
  })
  await eureka.waitFor((request) => request.method === 'POST' && request.path.includes('DELIVERY-IMAGES'))
  assert.equal((await fetch(`${service.baseUrl}/healthcheck`)).status, 200)

  const inFlight = [0, 1, 2].map(async (i) => await fetch(`${service.baseUrl}${slowImage(i)}`))
  // All three are in the service (one transforming, two queued) before the signal.
  await untilInFlight(await service.adminUrl, 3)
  service.child.kill('SIGTERM')
  await service.waitForLog((line) => String(line.msg).startsWith('shutting down'), 'the start of the shutdown')

  const health = await fetch(`${service.baseUrl}/healthcheck`)
  assert.equal(health.status, 503)
  assert.deepEqual(await health.json(), { status: 'OUT_OF_SERVICE' })

  for (const response of await Promise.all(inFlight)) {
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'image/png')
    assert.ok((await response.arrayBuffer()).byteLength > 0)
  }
  const { code } = await service.exited
  assert.equal(code, 0)
  assert.ok(service.logs.some((line) => line.msg === 'shutdown complete'))
  // At least one image request completed after the shutdown began: it really was in flight.
  const shutdownAt = service.logs.findIndex((line) => String(line.msg).startsWith('shutting down'))
  assert.ok(service.logs.slice(shutdownAt).some((line) => line.msg === 'request completed' && line.status === 200 && String(line.path).includes('noise.jpg')))

  const outOfService = eureka.requests.findIndex((request) => request.method === 'PUT' && request.query.get('value') === 'OUT_OF_SERVICE')
  const deregistered = eureka.requests.findIndex((request) => request.method === 'DELETE')
  assert.ok(outOfService >= 0, 'marked OUT_OF_SERVICE')
  assert.ok(deregistered > outOfService, 'deregistered after being marked OUT_OF_SERVICE')
})

test('a second signal exits at once with a non-zero code', async () => {
  const service = await startService({ ...env, SHUTDOWN_DRAIN_MS: '20000' })
  service.child.kill('SIGTERM')
  await service.waitForLog((line) => String(line.msg).startsWith('shutting down'), 'the start of the shutdown')
  service.child.kill('SIGINT')
  const { code } = await service.exited
  assert.equal(code, 130)
})
