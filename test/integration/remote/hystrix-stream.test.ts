import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import fs from 'node:fs'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import sharp from 'sharp'
import { buildApp, type App } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { BREAKER_NAMES, createBreaker, type Breaker } from '../../../src/resilience/breakers.ts'
import { createRemoteLogic } from '../../../src/remote/remote-logic.ts'
import { startFakeLogicManager, staticLogic, type FakeLogicManager } from '../../../scripts/peers/fake-logic-manager.ts'

type HystrixEvent = Record<string, unknown> & { type: string, name: string }

interface StreamSetup {
  app: App
  base: string
  lm: FakeLogicManager
  breakers: Breaker[]
}

async function setup (t: TestContext): Promise<StreamSetup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hystrix-stream-test-'))
  fs.mkdirSync(path.join(dir, 'acme/news/photos'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'acme/news/photos/a.jpg'),
    await sharp({ create: { width: 120, height: 80, channels: 3, background: '#cc3366' } }).jpeg().toBuffer())
  const lm = await startFakeLogicManager({
    backend: staticLogic({ buckets: { 'acme/news/photos': { rules: { thumb: { width: 100 } }, adHoc: 'allow' } } })
  })
  const settings = { timeoutMs: 500, errorThresholdPercent: 50, maxConcurrent: 20, resetMs: 1000 }
  const byKey = {
    logic: createBreaker('logic', settings, { volumeThreshold: 5 }),
    watermark: createBreaker('watermark', settings, { volumeThreshold: 5 }),
    alias: createBreaker('alias', settings, { volumeThreshold: 5 })
  }
  const origin = createBreaker('origin', settings, { volumeThreshold: 5 })
  const breakers = [...Object.values(byKey), origin]
  const logic = createRemoteLogic({
    logicManager: { app: 'LOGIC-MANAGER', candidates: () => [lm.url] },
    translator: { app: 'TRANSLATOR', candidates: () => [lm.url] },
    breakers: byKey,
    // Every request asks the logic manager, so the counts follow the traffic.
    cacheTtlMs: () => 0
  })
  // buildApp applies the configured breaker settings (they are dynamic), so they are given here too.
  const breakerEnv = Object.fromEntries(['LOGIC', 'WATERMARK', 'ALIAS', 'ORIGIN'].flatMap((name) => [
    [`BREAKER_${name}_TIMEOUT_MS`, '500'], [`BREAKER_${name}_RESET_MS`, '1000'], [`BREAKER_${name}_MAX_CONCURRENT`, '20']
  ]))
  const config = loadConfig({
    env: { ORIGIN_FS_ROOT: dir, STATSD_ENABLED: 'false', HYSTRIX_STREAM_INTERVAL_MS: '100', ...breakerEnv },
    configDir: '/nonexistent'
  })
  const app = buildApp({ config, logger: pino({ level: 'silent' }), logic, breakers: { ...byKey, origin } })
  await app.server.listen({ port: 0, host: '127.0.0.1' })
  t.after(async () => {
    await app.server.close()
    await logic.close()
    await lm.close()
    for (const breaker of breakers) breaker.circuit.shutdown()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const { port } = app.server.server.address() as { port: number }
  return { app, base: `http://127.0.0.1:${port}`, lm, breakers }
}

/** Reads SSE records and comments from an open stream until `done` says so. */
class StreamReader {
  readonly events: HystrixEvent[] = []
  pings = 0
  private buffer = ''
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly decoder = new TextDecoder()

  constructor (body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader()
  }

  async until (done: (reader: StreamReader) => boolean): Promise<void> {
    while (!done(this)) {
      const { value, done: ended } = await this.reader.read()
      if (ended) throw new Error('stream ended')
      this.buffer += this.decoder.decode(value, { stream: true })
      let end: number
      while ((end = this.buffer.indexOf('\n\n')) !== -1) {
        const block = this.buffer.slice(0, end)
        this.buffer = this.buffer.slice(end + 2)
        for (const line of block.split('\n')) {
          if (line.startsWith('data:')) this.events.push(JSON.parse(line.slice(5).trim()) as HystrixEvent)
          else if (line.startsWith(':')) this.pings++
        }
      }
    }
  }

  latest (name: string): HystrixEvent | undefined {
    return this.events.findLast((event) => event.name === name)
  }
}

async function openStream (t: TestContext, base: string): Promise<{ response: Response, reader: StreamReader, abort: () => void }> {
  const controller = new AbortController()
  const response = await fetch(`${base}/hystrix.stream`, { signal: controller.signal })
  t.after(() => { controller.abort() })
  assert.ok(response.body !== null)
  return { response, reader: new StreamReader(response.body), abort: () => { controller.abort() } }
}

test('streams one HystrixCommand per breaker and one HystrixThreadPool per group, with pings', async (t) => {
  const s = await setup(t)
  const { response, reader } = await openStream(t, s.base)
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('content-type'), 'text/event-stream;charset=UTF-8')
  assert.match(response.headers.get('cache-control') ?? '', /no-cache/)

  await reader.until((r) => r.pings >= 2)
  const commands = new Set(reader.events.filter((e) => e.type === 'HystrixCommand').map((e) => e.name))
  assert.deepEqual(commands, new Set([BREAKER_NAMES.logic, BREAKER_NAMES.watermark, BREAKER_NAMES.alias, BREAKER_NAMES.origin]))
  const pools = new Set(reader.events.filter((e) => e.type === 'HystrixThreadPool').map((e) => e.name))
  assert.deepEqual(pools, new Set(['LogicManager', 'Translator', 'Storage']))

  const logic = reader.latest(BREAKER_NAMES.logic)
  assert.equal(logic?.group, 'LogicManager')
  assert.equal(logic?.isCircuitBreakerOpen, false)
  assert.equal(logic?.requestCount, 0)
  assert.equal(logic?.propertyValue_executionIsolationThreadTimeoutInMilliseconds, 500)
  assert.equal(logic?.propertyValue_circuitBreakerRequestVolumeThreshold, 5)
  assert.equal(logic?.propertyValue_circuitBreakerSleepWindowInMilliseconds, 1000)
  assert.equal(logic?.propertyValue_circuitBreakerErrorThresholdPercentage, 50)
  assert.equal(logic?.propertyValue_executionIsolationSemaphoreMaxConcurrentRequests, 20)
  assert.equal(logic?.reportingHosts, 1)
  assert.equal(typeof logic?.currentTime, 'number')
})

test('counts, error percentage and circuit state follow the traffic', async (t) => {
  const s = await setup(t)
  const { reader } = await openStream(t, s.base)
  await reader.until((r) => r.latest(BREAKER_NAMES.logic) !== undefined)

  for (let i = 0; i < 3; i++) {
    const ok = await fetch(`${s.base}/tenants/acme/domains/news/buckets/photos/images/a.jpg?rule=thumb`)
    assert.equal(ok.status, 200)
    await ok.arrayBuffer()
  }
  await reader.until((r) => r.latest(BREAKER_NAMES.logic)?.rollingCountSuccess === 3)
  const healthy = reader.latest(BREAKER_NAMES.logic)
  assert.equal(healthy?.requestCount, 3)
  assert.equal(healthy?.errorPercentage, 0)
  const latency = healthy?.latencyExecute as Record<string, number>
  assert.ok(Number.isInteger(latency['99.5']) && latency['100'] !== undefined)

  // More failures than successes: over the 50 % threshold. The stale logic keeps the images coming.
  s.lm.set('logic', { mode: 'fail' })
  for (let i = 0; i < 4; i++) {
    const stale = await fetch(`${s.base}/tenants/acme/domains/news/buckets/photos/images/a.jpg?rule=thumb`)
    assert.equal(stale.status, 200)
    await stale.arrayBuffer()
  }
  await reader.until((r) => r.latest(BREAKER_NAMES.logic)?.isCircuitBreakerOpen === true)
  const failing = reader.latest(BREAKER_NAMES.logic)
  assert.ok((failing?.rollingCountFailure as number) >= 2)
  assert.ok((failing?.errorPercentage as number) > 50)
  assert.equal(failing?.rollingCountFallbackSuccess, 4)
  const pool = reader.events.findLast((e) => e.type === 'HystrixThreadPool' && e.name === 'LogicManager')
  assert.ok((pool?.rollingCountThreadsExecuted as number) >= 5)
})

test('a listener that leaves frees its place; one too many gets 503', async (t) => {
  const s = await setup(t)
  // The socket of each listener, as the server sees it.
  const sockets: Socket[] = []
  s.app.server.server.on('request', (request: IncomingMessage) => { sockets.push(request.socket) })
  const first = await openStream(t, s.base)
  const firstSocket = sockets[0] as Socket
  // The route admits ten listeners.
  await Promise.all(Array.from({ length: 9 }, async () => await openStream(t, s.base)))
  await first.reader.until((r) => r.pings >= 1)

  const refused = await fetch(`${s.base}/hystrix.stream`)
  assert.equal(refused.status, 503)
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'OVERLOADED')

  // The server frees the place when the listener's socket closes on its side.
  const left = once(firstSocket, 'close')
  first.abort()
  await left
  const admitted = await fetch(`${s.base}/hystrix.stream`, { signal: AbortSignal.timeout(2000) })
  assert.equal(admitted.status, 200)
  await admitted.body?.cancel()
})

test('closing the server ends open streams', async (t) => {
  const s = await setup(t)
  const { reader } = await openStream(t, s.base)
  await reader.until((r) => r.pings >= 1)
  await s.app.server.close()
  await assert.rejects(reader.until(() => false), /stream ended|terminated/)
})
