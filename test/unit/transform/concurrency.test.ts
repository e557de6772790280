import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createConcurrencyController, type ControllerOptions } from '../../../src/transform/concurrency.ts'

/**
 * A simulated machine: `throughput(limit)` units of work per ms with `limit` transformations
 * running, always saturated (work waiting). Each completion is one unit; the clock advances by what
 * the machine needs for it.
 */
function simulate (throughput: (limit: number) => number, completions: number, options: ControllerOptions) {
  const controller = createConcurrencyController(options)
  let now = 0
  const seen: number[] = []
  for (let i = 0; i < completions; i++) {
    now += 1 / throughput(controller.limit)
    controller.sample(1, true, now)
    seen.push(controller.limit)
  }
  return { controller, seen: seen.slice(-completions / 4) }
}

/** Two cores where one transformation leaves a core idle half of the time: the peak is at 4. */
const twoCores = (limit: number): number => Math.min(limit, 4) * 0.05 - Math.max(0, limit - 4) * 0.002

test('the limit climbs to the throughput peak and stays next to it', () => {
  const { seen } = simulate(twoCores, 4000, { min: 1, max: 8, initial: 2 })
  assert.ok(Math.min(...seen) >= 3 && Math.max(...seen) <= 5, `between ${Math.min(...seen)} and ${Math.max(...seen)}`)
  assert.ok(seen.includes(4))
})

test('started above the peak, it comes back down', () => {
  const { seen } = simulate(twoCores, 4000, { min: 1, max: 16, initial: 16 })
  assert.ok(Math.max(...seen) <= 5, `up to ${Math.max(...seen)}`)
})

test('a machine whose throughput never grows stays at the lowest limits; one that always grows reaches the bound', () => {
  const flat = simulate(() => 0.1, 4000, { min: 1, max: 8, initial: 2 })
  assert.ok(Math.max(...flat.seen) <= 3, `up to ${Math.max(...flat.seen)}`)
  const growing = simulate((limit) => limit * 0.1, 4000, { min: 1, max: 8, initial: 2 })
  assert.ok(Math.min(...growing.seen) >= 7, `down to ${Math.min(...growing.seen)}`)
})

test('without queueing the limit does not move; nonsense samples are ignored', () => {
  const controller = createConcurrencyController({ min: 1, max: 8, initial: 2 })
  for (let i = 0; i < 400; i++) controller.sample(1, false, i * 10)
  controller.sample(Number.NaN, true, 5000)
  controller.sample(-1, true, 5001)
  assert.equal(controller.limit, 2)
})
