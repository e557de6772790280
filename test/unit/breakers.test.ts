import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createBreaker } from '../../src/resilience/breakers.ts'
import { sampleCircuit } from '../../src/resilience/hystrix-stream.ts'
import { isDeliveryError } from '../../src/errors.ts'

const settings = { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 1, resetMs: 1000 }

async function concurrentCalls (breaker: ReturnType<typeof createBreaker>, count: number): Promise<string[]> {
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const calls = Array.from({ length: count }, async () => {
    try {
      await breaker.fire(async () => { await gate })
      return 'ok'
    } catch (error) {
      return isDeliveryError(error) ? error.code : 'other'
    }
  })
  await new Promise((resolve) => setTimeout(resolve, 20))
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
  const { DeliveryError } = await import('../../src/errors.ts')
  await assert.rejects(breaker.fire(async () => { throw new DeliveryError('IMAGE_NOT_FOUND') }), (error: unknown) => isDeliveryError(error) && error.code === 'IMAGE_NOT_FOUND')
  assert.equal(breaker.circuit.stats.failures, 2)
})
