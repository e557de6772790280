import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createConcurrencyController } from '../../src/transform/concurrency.ts'

/**
 * A simulated CPU-bound machine: with `cores` cores, each transformation takes `base` ms per unit
 * as long as no more than `cores` run, and proportionally longer beyond (they share the CPUs).
 */
function simulate (cores: number, base: number, windows: number, options = { min: 1, max: 16, initial: 2 }) {
  const controller = createConcurrencyController(options)
  const seen: number[] = []
  for (let i = 0; i < windows * 16; i++) {
    const limit = controller.limit
    controller.sample(base * Math.max(1, limit / cores), true)
    seen.push(controller.limit)
  }
  return { controller, seen }
}

test('under saturation of a CPU-bound machine the limit probes above the CPU count and comes back', () => {
  const { seen } = simulate(2, 100, 50)
  const last = seen.slice(-400)
  assert.ok(Math.max(...last) === 3, 'the limit keeps probing one above the cores')
  assert.ok(Math.min(...last) === 2, 'and comes back when latency grows')
})

test('work that does not fill the CPUs at the CPU count (I/O, single-threaded phases) gets more slots', () => {
  // Latency only starts to grow beyond 4 running on 2 cores.
  const controller = createConcurrencyController({ min: 1, max: 8, initial: 2 })
  for (let i = 0; i < 800; i++) controller.sample(100 * Math.max(1, controller.limit / 4), true)
  assert.ok(controller.limit >= 4, `at ${controller.limit}`)
})

test('more cores, a higher settling point; never beyond the bounds', () => {
  const eight = simulate(8, 50, 80, { min: 1, max: 32, initial: 8 })
  assert.ok(eight.controller.limit >= 8 && eight.controller.limit <= 11, `settled at ${eight.controller.limit}`)
  const bounded = simulate(8, 50, 80, { min: 1, max: 9, initial: 8 })
  assert.ok(Math.max(...bounded.seen) <= 9)
})

test('latency that grows faster than concurrency keeps the limit low; a latency jump takes slots back', () => {
  const controller = createConcurrencyController({ min: 1, max: 8, initial: 2 })
  for (let i = 0; i < 400; i++) controller.sample(100 * controller.limit * controller.limit, true)
  assert.ok(controller.limit <= 3, `at ${controller.limit}`)
  const grown = simulate(2, 100, 50).controller
  const before = grown.limit
  for (let i = 0; i < 64; i++) grown.sample(10_000, true)
  assert.ok(grown.limit < before, `${before} → ${grown.limit}`)
})

test('without queueing the limit does not move; nonsense samples are ignored', () => {
  const controller = createConcurrencyController({ min: 1, max: 8, initial: 2 })
  for (let i = 0; i < 200; i++) controller.sample(100 + (i % 7) * 50, false)
  controller.sample(Number.NaN, true)
  controller.sample(-1, true)
  assert.equal(controller.limit, 2)
})
