import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createStaleOnErrorCache } from '../../src/resilience/stale-on-error.ts'

test('answers from the cache while fresh and loads again once expired', async () => {
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 30 })
  let loads = 0
  const load = async (): Promise<string> => `v${++loads}`
  assert.equal(await cache.get('k', load), 'v1')
  assert.equal(await cache.get('k', load), 'v1')
  await sleep(50)
  assert.equal(await cache.get('k', load), 'v2')
})

test('concurrent misses of one key share one load', async () => {
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 1000 })
  let loads = 0
  const load = async (): Promise<string> => {
    loads++
    await sleep(20)
    return 'value'
  }
  const answers = await Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)])
  assert.deepEqual(answers, ['value', 'value', 'value'])
  assert.equal(loads, 1)
})

test('serves the last good answer when a load fails, and counts it', async () => {
  const stale: string[] = []
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 10, onStale: (key) => stale.push(key) })
  assert.equal(await cache.get('k', async () => 'good'), 'good')
  await sleep(30)
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
  const cache = createStaleOnErrorCache<string>({ ttlMs: () => 10000, notFoundTtlMs: 20 })
  let loads = 0
  const load = async (): Promise<string | null> => { loads++; return null }
  assert.equal(await cache.get('k', load), null)
  assert.equal(await cache.get('k', load), null)
  assert.equal(loads, 1)
  await sleep(40)
  assert.equal(await cache.get('k', load), null)
  assert.equal(loads, 2)
})
