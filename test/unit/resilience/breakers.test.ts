import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { createBreaker } from '../../../src/resilience/breakers.ts'
import { sampleCircuit } from '../../../src/resilience/hystrix-stream.ts'
import { isDeliveryError } from '../../../src/errors.ts'

const settings = { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 1, resetMs: 1000 }

/** Fires `count` calls that all hold on until each has been admitted or refused. */
async function concurrentCalls (breaker: ReturnType<typeof createBreaker>, count: number): Promise<string[]> {
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let arrived = 0
  let allArrived = (): void => {}
  const everyone = new Promise<void>((resolve) => { allArrived = resolve })
  const arrive = (): void => { if (++arrived === count) allArrived() }
  breaker.circuit.on('semaphoreLocked', arrive)
  const calls = Array.from({ length: count }, async () => {
    try {
      await breaker.fire(async () => {
        arrive()
        await gate
      })
      return 'ok'
    } catch (error) {
      return isDeliveryError(error) ? error.code : 'other'
    }
  })
  await everyone
  breaker.circuit.off('semaphoreLocked', arrive)
  release()
  return await Promise.all(calls)
}

test('BREAKER_*_MAX_CONCURRENT changes apply live, both ways', async (t) => {
  const breaker = createBreaker('origin', settings, { volumeThreshold: 1000 })
  t.after(() => { breaker.circuit.shutdown() })
  assert.deepEqual((await concurrentCalls(breaker, 3)).sort(), ['DEPENDENCY_UNAVAILABLE', 'DEPENDENCY_UNAVAILABLE', 'ok'])

  breaker.configure({ ...settings, maxConcurrent: 3 })
  assert.deepEqual(await concurrentCalls(breaker, 3), ['ok', 'ok', 'ok'])
  assert.equal(sampleCircuit(breaker.circuit).concurrent, 0)

  breaker.configure({ ...settings, maxConcurrent: 2 })
  assert.deepEqual((await concurrentCalls(breaker, 3)).sort(), ['DEPENDENCY_UNAVAILABLE', 'ok', 'ok'])
  assert.equal(sampleCircuit(breaker.circuit).concurrent, 0)
})

test('timeouts and 4xx DeliveryErrors are translated; only server-side failures count', async (t) => {
  const breaker = createBreaker('logic', { ...settings, timeoutMs: 50, maxConcurrent: 5 }, { volumeThreshold: 1000 })
  t.after(() => { breaker.circuit.shutdown() })
  await assert.rejects(breaker.fire(async (signal) => await new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => { reject(new Error('aborted', { cause: signal.reason })) })
  })), (error: unknown) => isDeliveryError(error) && error.code === 'UPSTREAM_TIMEOUT')
  await assert.rejects(breaker.fire(async () => { throw new Error('boom') }), (error: unknown) => isDeliveryError(error) && error.code === 'UPSTREAM_ERROR')
  const { DeliveryError } = await import('../../../src/errors.ts')
  await assert.rejects(breaker.fire(async () => { throw new DeliveryError('IMAGE_NOT_FOUND') }), (error: unknown) => isDeliveryError(error) && error.code === 'IMAGE_NOT_FOUND')
  assert.equal(breaker.circuit.stats.failures, 2)
})

test('timeout, error threshold and reset changes apply live', async (t) => {
  const breaker = createBreaker('alias', { ...settings, timeoutMs: 60000, maxConcurrent: 5 }, { volumeThreshold: 1000 })
  t.after(() => { breaker.circuit.shutdown() })
  breaker.configure({ timeoutMs: 20, errorThresholdPercent: 25, maxConcurrent: 5, resetMs: 500 })
  assert.deepEqual(sampleCircuit(breaker.circuit).settings,
    { timeoutMs: 20, errorThresholdPercent: 25, maxConcurrent: 5, resetMs: 500, volumeThreshold: 1000, rollingWindowMs: 10000 })
  // Under the first timeout this call would hang for a minute.
  await assert.rejects(breaker.fire(async () => await new Promise(() => {})),
    (error: unknown) => isDeliveryError(error) && error.code === 'UPSTREAM_TIMEOUT')
})

test('a half-open circuit is also announced as halfopen, the breaker event name', async (t) => {
  const breaker = createBreaker('logic', settings)
  t.after(() => { breaker.circuit.shutdown() })
  const announced = once(breaker.circuit, 'halfopen')
  breaker.circuit.emit('halfOpen', 1000)
  assert.deepEqual(await announced, [1000])
})
