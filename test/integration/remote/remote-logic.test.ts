import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import sharp from 'sharp'
import { buildApp, type App } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { createBreaker, type Breaker, type BreakerSettings } from '../../../src/resilience/breakers.ts'
import type { ServiceLocator } from '../../../src/remote/discovery.ts'
import { createRemoteLogic, type RemoteLogic } from '../../../src/remote/remote-logic.ts'
import { startFakeLogicManager, staticLogic, type FakeLogicManager } from '../../../scripts/peers/fake-logic-manager.ts'

const BUCKET = { tenant: 'acme', domain: 'news', bucket: 'photos' }
const IMAGE = '/tenants/acme/domains/news/buckets/photos/images/a.jpg?rule=thumb'
const OTHER_BUCKET_IMAGE = '/tenants/acme/domains/news/buckets/archive/images/a.jpg?rule=thumb'
const THUMB_LOGIC = { rules: { thumb: { width: 100 } }, adHoc: 'allow' as const }

interface Setup {
  app: App
  lm: FakeLogicManager
  logic: RemoteLogic
  breakers: Record<'logic' | 'watermark' | 'alias', Breaker>
  staleServed: string[]
  get: (url: string, headers?: Record<string, string>) => Promise<{ status: number, code: string | undefined, headers: Record<string, unknown> }>
}

interface SetupOptions {
  cacheTtlMs?: number
  breaker?: Partial<BreakerSettings>
  volumeThreshold?: number
  /** Points the translator somewhere else (a dead port). */
  translatorUrl?: string
  watermark?: Buffer
}

const locator = (app: string, url: string): ServiceLocator => ({ app, candidates: () => [url] })

async function setup (t: TestContext, options: SetupOptions = {}): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-logic-test-'))
  for (const bucket of ['photos', 'archive']) {
    fs.mkdirSync(path.join(dir, 'acme/news', bucket), { recursive: true })
    fs.writeFileSync(path.join(dir, 'acme/news', bucket, 'a.jpg'),
      await sharp({ create: { width: 200, height: 150, channels: 3, background: '#3366cc' } }).jpeg().toBuffer())
  }
  const lm = await startFakeLogicManager({
    backend: staticLogic({
      buckets: { 'acme/news/photos': THUMB_LOGIC, 'acme/news/archive': THUMB_LOGIC },
      aliases: { shots: BUCKET },
      ...(options.watermark === undefined ? {} : { watermarks: { 'acme/news/photos': options.watermark } })
    })
  })
  const settings: BreakerSettings = { timeoutMs: 150, errorThresholdPercent: 50, maxConcurrent: 10, resetMs: 300, ...options.breaker }
  const breakerOptions = { volumeThreshold: options.volumeThreshold ?? 2, rollingWindowMs: 10000 }
  const breakers = {
    logic: createBreaker('logic', settings, breakerOptions),
    watermark: createBreaker('watermark', settings, breakerOptions),
    alias: createBreaker('alias', settings, breakerOptions)
  }
  const staleServed: string[] = []
  const logic = createRemoteLogic({
    logicManager: locator('LOGIC-MANAGER', lm.url),
    translator: locator('TRANSLATOR', options.translatorUrl ?? lm.url),
    breakers,
    cacheTtlMs: () => options.cacheTtlMs ?? 60000,
    notFoundTtlMs: 60000,
    onStale: (key) => staleServed.push(key)
  })
  const config = loadConfig({ env: { ORIGIN_FS_ROOT: dir, STATSD_ENABLED: 'false', LOGIC_SOURCE: 'remote' }, configDir: '/nonexistent' })
  const app = buildApp({ config, logger: pino({ level: 'silent' }), logic })
  t.after(async () => {
    await app.server.close()
    await logic.close()
    await lm.close()
    for (const breaker of Object.values(breakers)) breaker.circuit.shutdown()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  await app.server.ready()
  return {
    app,
    lm,
    logic,
    breakers,
    staleServed,
    async get (url, headers = {}) {
      const response = await app.server.inject({ method: 'GET', url, headers })
      const code = response.statusCode >= 400 ? (response.json() as { error: { code: string } }).error.code : undefined
      return { status: response.statusCode, code, headers: response.headers }
    }
  }
}

async function deadUrl (): Promise<string> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}`
}

test('delivers with logic and aliases from the remote services, forwarding the request id', async (t) => {
  const s = await setup(t)
  assert.equal((await s.get(IMAGE, { 'x-request-id': 'req-remote-1' })).status, 200)
  assert.equal(s.lm.requests.at(-1)?.path, '/v1/tenants/acme/domains/news/buckets/photos/logic')
  assert.equal(s.lm.requests.at(-1)?.headers['x-request-id'], 'req-remote-1')

  assert.equal((await s.get('/shots/images/a.jpg?rule=thumb')).status, 200)
  assert.equal(s.lm.calls('alias'), 1)
  // Both answers are cached now.
  assert.equal((await s.get('/shots/images/a.jpg?rule=thumb')).status, 200)
  assert.equal(s.lm.calls(), 2)
})

test('unknown buckets and aliases are 404s, remembered without asking again', async (t) => {
  const s = await setup(t)
  assert.equal((await s.get('/tenants/acme/domains/news/buckets/nope/images/a.jpg')).code, 'BUCKET_NOT_FOUND')
  assert.equal((await s.get('/nope/images/a.jpg')).code, 'ALIAS_NOT_FOUND')
  assert.equal((await s.get('/tenants/acme/domains/news/buckets/nope/images/a.jpg')).code, 'BUCKET_NOT_FOUND')
  assert.equal((await s.get('/nope/images/a.jpg')).code, 'ALIAS_NOT_FOUND')
  assert.equal(s.lm.calls(), 2)
  // A 404 is an answer, not a failure of the service.
  assert.equal(s.breakers.logic.circuit.stats.failures, 0)
})

test('slow logic manager: timeouts open the breaker, stale answers are served, recovery closes it', async (t) => {
  const s = await setup(t, { cacheTtlMs: 1 })
  const circuit = s.breakers.logic.circuit
  assert.equal((await s.get(IMAGE)).status, 200)
  s.lm.set('logic', { mode: 'slow', delayMs: 1000 })

  // Each reload times out; the last good logic answers meanwhile.
  assert.equal((await s.get(IMAGE)).status, 200)
  assert.equal((await s.get(IMAGE)).status, 200)
  assert.equal(circuit.stats.timeouts, 2)
  assert.equal(circuit.opened, true)

  // Open: no call reaches the logic manager, the stale answer still does.
  const callsWhenOpened = s.lm.calls('logic')
  assert.equal((await s.get(IMAGE)).status, 200)
  assert.equal(s.lm.calls('logic'), callsWhenOpened)
  assert.ok(circuit.stats.rejects >= 1)
  // Nothing cached for this bucket: unavailable, not a crash.
  const uncached = await s.get(OTHER_BUCKET_IMAGE)
  assert.equal(uncached.status, 503)
  assert.equal(uncached.code, 'DEPENDENCY_UNAVAILABLE')
  assert.ok(s.staleServed.length >= 3)
  assert.equal(circuit.stats.fallbacks, s.staleServed.length)

  // After the reset time one trial call goes through; it succeeds and closes the circuit.
  s.lm.set('logic', { mode: 'ok' })
  if (!circuit.halfOpen) await once(circuit, 'halfOpen')
  assert.equal((await s.get(OTHER_BUCKET_IMAGE)).status, 200)
  assert.equal(circuit.closed, true)
  assert.equal(s.lm.calls('logic'), callsWhenOpened + 1)
})

test('a timeout with nothing cached is a 504', async (t) => {
  const s = await setup(t, { volumeThreshold: 100 })
  s.lm.set('logic', { mode: 'slow', delayMs: 1000 })
  const answer = await s.get(IMAGE)
  assert.equal(answer.status, 504)
  assert.equal(answer.code, 'UPSTREAM_TIMEOUT')
})

test('translator down with nothing cached is a 503 DEPENDENCY_UNAVAILABLE', async (t) => {
  const s = await setup(t, { translatorUrl: await deadUrl() })
  const answer = await s.get('/shots/images/a.jpg?rule=thumb')
  assert.equal(answer.status, 503)
  assert.equal(answer.code, 'DEPENDENCY_UNAVAILABLE')
  assert.equal(answer.headers['cache-control'], 'no-store')
  // Bucket routes do not need the translator.
  assert.equal((await s.get(IMAGE)).status, 200)
})

test('malformed answers are 502 UPSTREAM_ERROR and count as failures', async (t) => {
  const s = await setup(t, { volumeThreshold: 100 })
  s.lm.set('all', { mode: 'garbage' })
  const logic = await s.get(IMAGE)
  assert.equal(logic.status, 502)
  assert.equal(logic.code, 'UPSTREAM_ERROR')
  const alias = await s.get('/shots/images/a.jpg?rule=thumb')
  assert.equal(alias.status, 502)
  assert.equal(alias.code, 'UPSTREAM_ERROR')
  assert.equal(s.breakers.logic.circuit.stats.failures, 1)
  assert.equal(s.breakers.alias.circuit.stats.failures, 1)
})

test('a 5xx answer is a 502; a 4xx other than 404 is a 502 that does not count against the breaker', async (t) => {
  const s = await setup(t, { volumeThreshold: 100 })
  s.lm.set('logic', { mode: 'fail', status: 503 })
  assert.equal((await s.get(IMAGE)).code, 'UPSTREAM_ERROR')
  assert.equal(s.breakers.logic.circuit.stats.failures, 1)
  s.lm.set('logic', { mode: 'fail', status: 400 })
  assert.equal((await s.get(OTHER_BUCKET_IMAGE)).code, 'UPSTREAM_ERROR')
  assert.equal(s.breakers.logic.circuit.stats.failures, 1)
})

test('watermarks: PNG bytes, null when none, and a non-PNG answer is an upstream error', async (t) => {
  const png = await sharp({ create: { width: 10, height: 10, channels: 4, background: '#ffffff80' } }).png().toBuffer()
  const s = await setup(t, { volumeThreshold: 100 })
  const context = { requestId: 'wm' }
  const none = await setup(t)
  assert.equal(await none.logic.getWatermark(BUCKET, context), null)

  const withMark = await setup(t, { watermark: png, volumeThreshold: 100 })
  assert.deepEqual(await withMark.logic.getWatermark(BUCKET, context), png)
  assert.equal(withMark.lm.requests.at(-1)?.headers.accept, 'image/png')

  s.lm.set('watermark', { mode: 'garbage' })
  await assert.rejects(s.logic.getWatermark(BUCKET, context), { code: 'UPSTREAM_ERROR' })
})
