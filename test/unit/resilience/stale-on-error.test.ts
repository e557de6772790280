import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createStaleOnErrorCache } from '../../../src/resilience/stale-on-error.ts'

/** A clock the test moves by hand. */
function manualClock (): { now: () => number, advance: (ms: number) => void } {
  let time = 1_000_000
  return { now: () => time, advance: (ms) => { time += ms } }
}

test('answers from the cache while fresh and loads again once expired', async () => {
  const clock = manualClock()
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 30, now: clock.now })
  let loads = 0
  const load = async (): Promise<string> => `v${++loads}`
  assert.equal(await cache.get('k', load), 'v1')
  clock.advance(29)
  assert.equal(await cache.get('k', load), 'v1')
  clock.advance(1)
  assert.equal(await cache.get('k', load), 'v2')
})

test('concurrent misses of one key share one load', async () => {
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 1000 })
  let loads = 0
  let finish = (_value: string): void => {}
  let started = (): void => {}
  const loading = new Promise<void>((resolve) => { started = resolve })
  const load = async (): Promise<string> => {
    loads++
    started()
    return await new Promise<string>((resolve) => { finish = resolve })
  }
  const answers = Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)])
  await loading
  finish('value')
  assert.deepEqual(await answers, ['value', 'value', 'value'])
  assert.equal(loads, 1)
})

test('serves the last good answer when a load fails, and counts it', async () => {
  const clock = manualClock()
  const stale: string[] = []
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 10, now: clock.now, onStale: (key) => stale.push(key) })
  assert.equal(await cache.get('k', async () => 'good'), 'good')
  clock.advance(30)
  const failing = async (): Promise<string> => { throw new Error('down') }
  assert.equal(await cache.get('k', failing), 'good')
  assert.equal(await cache.get('k', failing), 'good')
  assert.deepEqual(stale, ['k', 'k'])
})

test('rethrows the failure when nothing was ever cached', async () => {
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 1000 })
  await assert.rejects(cache.get('k', async () => { throw new Error('down') }), /down/)
  // A failure is not cached: the next call loads again.
  assert.equal(await cache.get('k', async () => 'up'), 'up')
})

test('caches "does not exist" for the shorter not-found TTL', async () => {
  const clock = manualClock()
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 10000, notFoundTtlMs: 20, now: clock.now })
  let loads = 0
  const load = async (): Promise<string | null> => { loads++; return null }
  assert.equal(await cache.get('k', load), null)
  assert.equal(await cache.get('k', load), null)
  assert.equal(loads, 1)
  clock.advance(40)
  assert.equal(await cache.get('k', load), null)
  assert.equal(loads, 2)
})
