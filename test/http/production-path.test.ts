import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { BUCKET_PATH, buildTestApp, type TestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'
import { listenLocally } from '../helpers/raw-http.ts'
import { createFsOrigin } from '../../src/origins/fs-origin.ts'
import type { Origin } from '../../src/origins/origin.ts'

/**
 * The production path (cache hits without the origin, work only for waiting clients) through the real app over a folder of originals. The origin is the real folder
 * origin, wrapped to count its calls and, where a test needs it, to hold a read until released.
 */
interface Observed {
  app: TestApp
  calls: { stat: string[], get: string[] }
  /** Reads of keys matching this are held until `release()`. */
  hold: (pattern: RegExp) => { release: () => void, reached: Promise<void> }
}

async function setup (t: TestContext, env: Record<string, string> = {}): Promise<Observed> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'production-path-'))
  t.after(() => { fs.rmSync(root, { recursive: true, force: true }) })
  fs.mkdirSync(path.join(root, 'acme/news/photos'), { recursive: true })
  for (const name of ['a.jpg', 'b.jpg', 'slow.jpg']) fs.writeFileSync(path.join(root, 'acme/news/photos', name), await makeJpeg(120, 80))
  const real = createFsOrigin(root)
  const calls = { stat: [] as string[], get: [] as string[] }
  let held: { pattern: RegExp, gate: Promise<void>, arrived: () => void } | null = null
  const origin: Origin = {
    stat: async (key, request) => { calls.stat.push(key); return await real.stat(key, request) },
    get: async (key, request) => {
      calls.get.push(key)
      if (held !== null && held.pattern.test(key)) {
        held.arrived()
        await held.gate
      }
      return await real.get(key, request)
    }
  }
  const app = await buildTestApp(t, { env: { ORIGIN_FS_ROOT: root, ...env }, parts: { origin } })
  return {
    app,
    calls,
    hold (pattern) {
      let release = (): void => {}
      let arrived = (): void => {}
      const gate = new Promise<void>((resolve) => { release = resolve })
      const reached = new Promise<void>((resolve) => { arrived = resolve })
      held = { pattern, gate, arrived }
      return { release: () => { held = null; release() }, reached }
    }
  }
}

test('within ORIGIN_VERSION_TTL_MS a cache hit and a 304 make no origin call at all', async (t) => {
  const { app, calls } = await setup(t)
  const miss = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=60`)
  assert.equal(miss.headers['x-cache'], 'MISS')
  assert.deepEqual([calls.stat.length, calls.get.length], [1, 1])
  const hit = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=60`)
  const notModified = await app.server.inject({ url: `${BUCKET_PATH}/a.jpg?w=60`, headers: { 'if-none-match': String(miss.headers.etag) } })
  assert.equal(hit.headers['x-cache'], 'HIT')
  assert.equal(notModified.statusCode, 304)
  assert.deepEqual([calls.stat.length, calls.get.length], [1, 1], 'no stat, no read')
})

test('after the TTL one version check is shared by every concurrent request', async (t) => {
  const { app, calls } = await setup(t, { ORIGIN_VERSION_TTL_MS: '0' })
  await app.server.inject(`${BUCKET_PATH}/a.jpg?w=60`)
  calls.stat.length = 0
  const responses = await Promise.all(Array.from({ length: 10 }, async () => await app.server.inject(`${BUCKET_PATH}/a.jpg?w=60`)))
  assert.ok(responses.every((response) => response.statusCode === 200 && response.headers['x-cache'] === 'HIT'))
  assert.equal(calls.stat.length, 1)
})

test('concurrent misses of different variants of one original share one origin read', async (t) => {
  // Four slots: the four transformations run together (a queued one reads when its turn comes).
  const { app, calls, hold } = await setup(t, { LIMITS_MAX_CONCURRENT_TRANSFORMS: '4' })
  const gate = hold(/b\.jpg$/)
  const variants = Promise.all([50, 60, 70, 80].map(async (w) => await app.server.inject(`${BUCKET_PATH}/b.jpg?w=${w}`)))
  await gate.reached
  await waitFor(() => app.limiter().running === 4)
  gate.release()
  const responses = await variants
  assert.deepEqual(responses.map((r) => r.statusCode), [200, 200, 200, 200])
  assert.equal(new Set(responses.map((r) => r.headers.etag)).size, 4)
  assert.equal(calls.get.filter((key) => key.endsWith('b.jpg')).length, 1)
})

test('a client that leaves while queued gives its place back: no origin read, no transformation', async (t) => {
  const { app, calls, hold } = await setup(t, { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1' })
  const port = await listenLocally(app.server)
  // The only slot is taken by a transformation whose read is held.
  const gate = hold(/slow\.jpg$/)
  const first = app.server.inject(`${BUCKET_PATH}/slow.jpg?w=40`)
  await gate.reached
  // A second client asks for another image, waits in the queue, and leaves.
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(`GET ${BUCKET_PATH}/a.jpg?w=44 HTTP/1.1\r\nhost: x\r\n\r\n`)
  await waitFor(() => app.limiter().waiting === 1)
  socket.destroy()
  await waitFor(() => app.limiter().waiting === 0)
  assert.equal(app.limiter().queued, 0, 'its place is given back')
  gate.release()
  assert.equal((await first).statusCode, 200)
  assert.deepEqual(calls.get.filter((key) => key.endsWith('a.jpg')), [], 'its original was never read')
  // The next request for that image is a miss: nothing was transformed for the client that left.
  assert.equal((await app.server.inject(`${BUCKET_PATH}/a.jpg?w=44`)).headers['x-cache'], 'MISS')
})

test('a client that leaves while its original is read gets nothing transformed', async (t) => {
  const { app, hold } = await setup(t, { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1' })
  const port = await listenLocally(app.server)
  const gate = hold(/slow\.jpg$/)
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(`GET ${BUCKET_PATH}/slow.jpg?w=52 HTTP/1.1\r\nhost: x\r\n\r\n`)
  await gate.reached
  socket.destroy()
  await once(socket, 'close')
  gate.release()
  await waitFor(() => app.limiter().running === 0)
  assert.equal(app.limiter().orphaned, 0, 'nothing went on running for nobody')
  assert.equal((await app.server.inject(`${BUCKET_PATH}/slow.jpg?w=52`)).headers['x-cache'], 'MISS', 'and nothing was cached')
})

test('a wait over LIMITS_QUEUE_TIMEOUT_MS is 503 OVERLOADED with Retry-After', async (t) => {
  const { app, hold } = await setup(t, { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1', LIMITS_QUEUE_TIMEOUT_MS: '50' })
  const gate = hold(/slow\.jpg$/)
  const first = app.server.inject(`${BUCKET_PATH}/slow.jpg?w=40`)
  await gate.reached
  const queued = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=44`)
  assert.equal(queued.statusCode, 503)
  assert.equal(queued.json<{ error: { code: string } }>().error.code, 'OVERLOADED')
  assert.equal(queued.headers['retry-after'], '1')
  gate.release()
  assert.equal((await first).statusCode, 200)
})

test('a shared transformation goes on while any of its clients still waits', async (t) => {
  const { app, hold } = await setup(t, { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1' })
  const port = await listenLocally(app.server)
  const gate = hold(/slow\.jpg$/)
  const url = `${BUCKET_PATH}/slow.jpg?w=48`
  const leaving = net.connect(port, '127.0.0.1')
  await once(leaving, 'connect')
  leaving.write(`GET ${url} HTTP/1.1\r\nhost: x\r\n\r\n`)
  await gate.reached
  const staying = app.server.inject(url)
  leaving.destroy()
  await once(leaving, 'close')
  gate.release()
  const response = await staying
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['x-cache'], 'HIT', 'it joined the first client\'s transformation')
})

/** Waits for a condition on the app's state, checking after each turn of the event loop. */
async function waitFor (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve))
}
