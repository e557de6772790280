import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatCommand, formatThreadPools, type CommandSample } from '../../../src/resilience/hystrix-stream.ts'

function sample (overrides: Partial<CommandSample['stats']> = {}, group = 'LogicManager'): CommandSample {
  return {
    name: 'DeliveryImages#GetLogicFromLogicManager',
    group,
    open: false,
    forcedClosed: false,
    stats: {
      successes: 7,
      failures: 5,
      timeouts: 2,
      rejects: 3,
      semaphoreRejections: 1,
      fallbacks: 4,
      cacheHits: 0,
      percentiles: { 0: 1, 0.25: 2, 0.5: 3.4, 0.75: 5, 0.9: 8, 0.95: 9, 0.99: 12, 0.995: 13, 1: 20 },
      latencyMean: 4.6,
      ...overrides
    },
    concurrent: 2,
    settings: { timeoutMs: 1000, errorThresholdPercent: 50, resetMs: 10000, maxConcurrent: 100, volumeThreshold: 10, rollingWindowMs: 10000 }
  }
}

/** The keys Hystrix Dashboard's validateData requires for a command. */
const DASHBOARD_COMMAND_KEYS = [
  'reportingHosts', 'type', 'name', 'group', 'isCircuitBreakerOpen', 'errorPercentage', 'errorCount', 'requestCount',
  'rollingCountCollapsedRequests', 'rollingCountExceptionsThrown', 'rollingCountFailure', 'rollingCountFallbackFailure',
  'rollingCountFallbackRejection', 'rollingCountFallbackSuccess', 'rollingCountResponsesFromCache',
  'rollingCountSemaphoreRejected', 'rollingCountShortCircuited', 'rollingCountSuccess', 'rollingCountThreadPoolRejected',
  'rollingCountTimeout', 'rollingCountBadRequests', 'currentConcurrentExecutionCount', 'latencyExecute_mean',
  'latencyExecute', 'latencyTotal_mean', 'latencyTotal', 'propertyValue_circuitBreakerRequestVolumeThreshold',
  'propertyValue_circuitBreakerSleepWindowInMilliseconds', 'propertyValue_circuitBreakerErrorThresholdPercentage',
  'propertyValue_circuitBreakerForceOpen', 'propertyValue_executionIsolationStrategy',
  'propertyValue_executionIsolationThreadTimeoutInMilliseconds', 'propertyValue_executionIsolationThreadInterruptOnTimeout',
  'propertyValue_executionIsolationSemaphoreMaxConcurrentRequests',
  'propertyValue_fallbackIsolationSemaphoreMaxConcurrentRequests', 'propertyValue_requestCacheEnabled',
  'propertyValue_requestLogEnabled', 'propertyValue_metricsRollingStatisticalWindowInMilliseconds'
]

const DASHBOARD_POOL_KEYS = [
  'type', 'name', 'currentActiveCount', 'currentCompletedTaskCount', 'currentCorePoolSize', 'currentLargestPoolSize',
  'currentMaximumPoolSize', 'currentPoolSize', 'currentQueueSize', 'currentTaskCount', 'rollingCountThreadsExecuted',
  'rollingMaxActiveThreads', 'reportingHosts', 'propertyValue_queueSizeRejectionThreshold',
  'propertyValue_metricsRollingStatisticalWindowInMilliseconds'
]

test('a HystrixCommand record carries every field the dashboard requires', () => {
  const record = formatCommand(sample(), 1732564800123)
  for (const key of DASHBOARD_COMMAND_KEYS) assert.ok(key in record, `missing ${key}`)
  assert.equal(record.type, 'HystrixCommand')
  assert.equal(record.currentTime, 1732564800123)
  assert.equal(record.threadPool, 'LogicManager')
})

test('maps opossum counts to Hystrix semantics', () => {
  const record = formatCommand(sample(), 0)
  // opossum failures include timeouts and semaphore rejections.
  assert.equal(record.rollingCountFailure, 2)
  assert.equal(record.rollingCountTimeout, 2)
  assert.equal(record.rollingCountSemaphoreRejected, 1)
  assert.equal(record.rollingCountShortCircuited, 3)
  assert.equal(record.rollingCountSuccess, 7)
  assert.equal(record.rollingCountFallbackSuccess, 4)
  assert.equal(record.requestCount, 15)
  assert.equal(record.errorCount, 8)
  assert.equal(record.errorPercentage, 53)
  assert.equal(record.isCircuitBreakerOpen, false)
})

test('latencies are integer percentiles keyed as Hystrix does, never negative', () => {
  const record = formatCommand(sample(), 0)
  assert.deepEqual(record.latencyExecute, { 0: 1, 25: 2, 50: 3, 75: 5, 90: 8, 95: 9, 99: 12, 99.5: 13, 100: 20 })
  assert.equal(record.latencyExecute_mean, 5)
  const empty = formatCommand(sample({ percentiles: { 0: -1, 0.5: -1, 1: -1 }, latencyMean: -1 }), 0)
  assert.equal(empty.latencyTotal_mean, 0)
  assert.ok(Object.values(empty.latencyTotal as Record<string, number>).every((value) => value === 0))
})

test('an idle breaker reports 0 % errors rather than NaN', () => {
  const record = formatCommand(sample({ successes: 0, failures: 0, timeouts: 0, rejects: 0, semaphoreRejections: 0 }), 0)
  assert.equal(record.errorPercentage, 0)
  assert.equal(record.requestCount, 0)
})

test('one HystrixThreadPool record per group, summing its breakers', () => {
  const pools = formatThreadPools([sample(), sample({}, 'LogicManager'), sample({}, 'Translator')], 5)
  assert.deepEqual(pools.map((pool) => pool.name), ['LogicManager', 'Translator'])
  const logicManager = pools[0] ?? {}
  for (const key of DASHBOARD_POOL_KEYS) assert.ok(key in logicManager, `missing ${key}`)
  assert.equal(logicManager.type, 'HystrixThreadPool')
  assert.equal(logicManager.currentActiveCount, 4)
  assert.equal(logicManager.currentMaximumPoolSize, 200)
  assert.equal(logicManager.rollingCountThreadsExecuted, 22)
})
