import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isDeliveryError } from '../../../src/errors.ts'
import { createTransformLimiter, type LimiterSettings } from '../../../src/transform/limiter.ts'

const settings = (overrides: Partial<LimiterSettings> = {}): LimiterSettings =>
  ({ concurrency: 1, maxQueue: 4, queueTimeoutMs: 10_000, tenantMaxShare: 0.5, ...overrides })
const overloaded = (error: unknown): boolean => isDeliveryError(error) && error.code === 'OVERLOADED' && error.retryAfterSeconds === 1

test('a waiter whose client leaves gives its place back at once and is never granted', async () => {
  const limiter = createTransformLimiter(settings())
  const running = await limiter.enter({ tenant: 'a' }).slot()
  const leaving = new AbortController()
  const waiting = limiter.enter({ tenant: 'a', signal: leaving.signal }).slot()
  const next = limiter.enter({ tenant: 'a' }).slot()
  assert.equal(limiter.state().waiting, 2)
  leaving.abort(new Error('client left'))
  await assert.rejects(waiting, /client left/)
  assert.deepEqual([limiter.state().waiting, limiter.queued], [1, 1])
  running.done()
  const granted = await next
  assert.equal(limiter.state().running, 1)
  granted.done()
  assert.deepEqual(limiter.state().byTenant, {})
})

test('a wait longer than queueTimeoutMs is 503 OVERLOADED with Retry-After', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const limiter = createTransformLimiter(settings({ queueTimeoutMs: 500 }))
  const running = await limiter.enter({ tenant: 'a' }).slot()
  const waiting = limiter.enter({ tenant: 'a' }).slot()
  t.mock.timers.tick(499)
  assert.equal(limiter.state().waiting, 1)
  t.mock.timers.tick(1)
  await assert.rejects(waiting, overloaded)
  assert.equal(limiter.queued, 0)
  running.done()
})

test('a full queue refuses at once', async () => {
  const limiter = createTransformLimiter(settings({ maxQueue: 1, tenantMaxShare: 1 }))
  const running = await limiter.enter({ tenant: 'a' }).slot()
  const waiting = limiter.enter({ tenant: 'a' })
  assert.throws(() => limiter.enter({ tenant: 'a' }), overloaded)
  waiting.cancel()
  running.done()
})

test('while others wait, a tenant holds at most its share; the others go first when a slot frees', async () => {
  // Capacity 2 slots + 4 queue = 6; share 0.5 = 3 places while another tenant is present.
  const limiter = createTransformLimiter(settings({ concurrency: 2 }))
  const flood = [await limiter.enter({ tenant: 'flood' }).slot(), await limiter.enter({ tenant: 'flood' }).slot()]
  // Alone, the flooding tenant may take more than its share.
  const floodWaiting = [limiter.enter({ tenant: 'flood' }).slot(), limiter.enter({ tenant: 'flood' }).slot()]
  const quiet = limiter.enter({ tenant: 'quiet' }).slot()
  assert.throws(() => limiter.enter({ tenant: 'flood' }), overloaded, 'flood holds 4 of 6 with another tenant waiting')
  const order: string[] = []
  void quiet.then(() => order.push('quiet'))
  for (const waiting of floodWaiting) void waiting.then(() => order.push('flood'))
  flood[0]?.done()
  await new Promise(setImmediate)
  assert.deepEqual(order, ['quiet'], 'the tenant with nothing running goes first')
  ;(await quiet).done()
  flood[1]?.done()
  for (const waiting of floodWaiting) (await waiting).done()
  assert.deepEqual(limiter.state().byTenant, {})
})

test('an orphan frees its slot for waiting work, but no more orphans than slots', async () => {
  const limiter = createTransformLimiter(settings({ concurrency: 1, tenantMaxShare: 1 }))
  const abandoned = await limiter.enter({ tenant: 'a' }).slot()
  const fresh = limiter.enter({ tenant: 'a' }).slot()
  abandoned.orphan()
  const freshSlot = await fresh
  assert.deepEqual([limiter.state().running, limiter.state().orphaned], [2, 1])
  const third = limiter.enter({ tenant: 'a' }).slot()
  freshSlot.orphan()
  assert.equal(limiter.state().orphaned, 1, 'a second orphan keeps its slot: abandoned work stays bounded')
  assert.equal(limiter.state().waiting, 1)
  abandoned.done()
  freshSlot.done()
  ;(await third).done()
  assert.deepEqual([limiter.state().running, limiter.state().orphaned, limiter.queued], [0, 0, 0])
})

test('auto starts at the CPU count and reports changes of the limit', async () => {
  let clock = 0
  const limiter = createTransformLimiter(settings({ concurrency: 'auto', tenantMaxShare: 1, maxQueue: 64 }), 2, () => clock)
  const seen: number[] = []
  limiter.onLimit((limit) => seen.push(limit))
  assert.deepEqual([limiter.state().mode, limiter.state().limit], ['auto', 2])
  // Saturated, latency not growing: the limit rises.
  const busy = await limiter.enter({ tenant: 'a' }).slot()
  let slot = await limiter.enter({ tenant: 'a' }).slot()
  for (let i = 0; i < 200; i++) {
    const next = limiter.enter({ tenant: 'a' }).slot()
    clock += 100 / limiter.state().limit
    slot.done({ work: 1 })
    slot = await next
  }
  slot.done()
  busy.done()
  assert.ok(limiter.state().limit > 2)
  assert.equal(seen.at(-1), limiter.state().limit)
  limiter.configure(settings({ concurrency: 3 }))
  assert.deepEqual([limiter.state().mode, limiter.state().limit], ['fixed', 3])
})

test('a flood that filled the capacity alone cannot lock another tenant out', async () => {
  // Capacity 1 slot + 3 queue = 4; share 0.5 = 2 places.
  const limiter = createTransformLimiter(settings({ concurrency: 1, maxQueue: 3 }))
  const running = await limiter.enter({ tenant: 'flood' }).slot()
  const flood = [limiter.enter({ tenant: 'flood' }), limiter.enter({ tenant: 'flood' }), limiter.enter({ tenant: 'flood' })]
  assert.throws(() => limiter.enter({ tenant: 'flood' }), overloaded)
  const quiet = [limiter.enter({ tenant: 'quiet' }), limiter.enter({ tenant: 'quiet' })]
  assert.throws(() => limiter.enter({ tenant: 'quiet' }), overloaded, 'but only up to its share')
  for (const ticket of [...flood, ...quiet]) ticket.cancel()
  running.done()
  assert.deepEqual(limiter.state().byTenant, {})
})
