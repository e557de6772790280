import type CircuitBreaker from 'opossum'
import { runningCalls, settingsOf, windowStats, type CircuitSettings, type WindowStats } from './opossum-internals.ts'

/**
 * Breaker statistics in the records Hystrix Dashboard and Turbine read: one `HystrixCommand` per
 * breaker and one `HystrixThreadPool` per group. Every field the dashboard's `validateData`
 * requires is present, numbers are integers and booleans are booleans.
 */

/** What one breaker looks like at one instant; plain data so that formatting stays pure. */
export interface CommandSample {
  name: string
  group: string
  open: boolean
  /** A disabled opossum circuit lets every call through: Hystrix's "force closed". */
  forcedClosed: boolean
  stats: Pick<WindowStats,
  'successes' | 'failures' | 'timeouts' | 'rejects' | 'semaphoreRejections' | 'fallbacks' | 'cacheHits' |
  'percentiles' | 'latencyMean'>
  /** Calls running now. */
  concurrent: number
  settings: CircuitSettings
}

export type HystrixRecord = Record<string, unknown>

/** opossum percentile keys (fractions) → Hystrix keys (percent). */
const PERCENTILES: ReadonlyArray<[number, string]> = [
  [0, '0'], [0.25, '25'], [0.5, '50'], [0.75, '75'], [0.9, '90'], [0.95, '95'], [0.99, '99'], [0.995, '99.5'], [1, '100']
]

/** opossum reports -1 when it has no latency yet; Hystrix consumers expect non-negative integers. */
const ms = (value: number | undefined): number => value === undefined || value < 0 ? 0 : Math.round(value)

export function formatCommand (sample: CommandSample, now: number): HystrixRecord {
  const { stats, settings } = sample
  // opossum counts timeouts and semaphore rejections as failures too; Hystrix counts each once.
  const failures = Math.max(0, stats.failures - stats.timeouts - stats.semaphoreRejections)
  const requestCount = stats.successes + stats.failures + stats.rejects
  const errorCount = stats.failures + stats.rejects
  const latency = Object.fromEntries(PERCENTILES.map(([fraction, key]) => [key, ms(stats.percentiles[fraction])]))
  return {
    type: 'HystrixCommand',
    name: sample.name,
    group: sample.group,
    currentTime: now,
    isCircuitBreakerOpen: sample.open,
    errorPercentage: requestCount === 0 ? 0 : Math.round(errorCount * 100 / requestCount),
    errorCount,
    requestCount,
    rollingCountBadRequests: 0,
    rollingCountCollapsedRequests: 0,
    rollingCountEmit: 0,
    rollingCountExceptionsThrown: Math.max(0, errorCount - stats.fallbacks),
    rollingCountFailure: failures,
    rollingCountFallbackEmit: 0,
    rollingCountFallbackFailure: 0,
    rollingCountFallbackMissing: 0,
    rollingCountFallbackRejection: 0,
    rollingCountFallbackSuccess: stats.fallbacks,
    rollingCountResponsesFromCache: stats.cacheHits,
    rollingCountSemaphoreRejected: stats.semaphoreRejections,
    rollingCountShortCircuited: stats.rejects,
    rollingCountSuccess: stats.successes,
    rollingCountThreadPoolRejected: 0,
    rollingCountTimeout: stats.timeouts,
    currentConcurrentExecutionCount: sample.concurrent,
    rollingMaxConcurrentExecutionCount: sample.concurrent,
    latencyExecute_mean: ms(stats.latencyMean),
    latencyExecute: latency,
    // opossum measures one duration per call; execution and total are the same here.
    latencyTotal_mean: ms(stats.latencyMean),
    latencyTotal: latency,
    propertyValue_circuitBreakerRequestVolumeThreshold: settings.volumeThreshold,
    propertyValue_circuitBreakerSleepWindowInMilliseconds: settings.resetMs,
    propertyValue_circuitBreakerErrorThresholdPercentage: settings.errorThresholdPercent,
    propertyValue_circuitBreakerForceOpen: false,
    propertyValue_circuitBreakerForceClosed: sample.forcedClosed,
    propertyValue_circuitBreakerEnabled: true,
    // opossum bounds concurrency with a semaphore, not a thread pool.
    propertyValue_executionIsolationStrategy: 'SEMAPHORE',
    propertyValue_executionIsolationThreadTimeoutInMilliseconds: settings.timeoutMs,
    propertyValue_executionTimeoutInMilliseconds: settings.timeoutMs,
    // A timed-out call is aborted through its signal.
    propertyValue_executionIsolationThreadInterruptOnTimeout: true,
    propertyValue_executionIsolationThreadPoolKeyOverride: null,
    propertyValue_executionIsolationSemaphoreMaxConcurrentRequests: settings.maxConcurrent,
    propertyValue_fallbackIsolationSemaphoreMaxConcurrentRequests: settings.maxConcurrent,
    propertyValue_metricsRollingStatisticalWindowInMilliseconds: settings.rollingWindowMs,
    propertyValue_requestCacheEnabled: false,
    propertyValue_requestLogEnabled: false,
    reportingHosts: 1,
    threadPool: sample.group
  }
}

/** One record per group: the group's breakers stand in for the threads of a Hystrix pool. */
export function formatThreadPools (samples: readonly CommandSample[], now: number): HystrixRecord[] {
  const groups = Map.groupBy(samples, (sample) => sample.group)
  return [...groups].map(([group, members]) => {
    const sum = (pick: (sample: CommandSample) => number): number => members.reduce((total, s) => total + pick(s), 0)
    const active = sum((s) => s.concurrent)
    const size = sum((s) => s.settings.maxConcurrent)
    const executed = sum((s) => s.stats.successes + s.stats.failures - s.stats.semaphoreRejections)
    return {
      type: 'HystrixThreadPool',
      name: group,
      currentTime: now,
      currentActiveCount: active,
      currentCompletedTaskCount: executed,
      currentCorePoolSize: size,
      currentLargestPoolSize: size,
      currentMaximumPoolSize: size,
      currentPoolSize: size,
      currentQueueSize: 0,
      currentTaskCount: executed + active,
      rollingCountThreadsExecuted: executed,
      rollingMaxActiveThreads: active,
      rollingCountCommandRejections: sum((s) => s.stats.semaphoreRejections),
      propertyValue_queueSizeRejectionThreshold: 0,
      propertyValue_metricsRollingStatisticalWindowInMilliseconds: members[0]?.settings.rollingWindowMs ?? 10000,
      reportingHosts: 1
    }
  })
}

/** Reads a live opossum circuit into a sample. */
export function sampleCircuit (circuit: CircuitBreaker): CommandSample {
  return {
    name: circuit.name,
    group: circuit.group,
    open: !circuit.closed,
    forcedClosed: !circuit.enabled,
    stats: windowStats(circuit),
    concurrent: runningCalls(circuit),
    settings: settingsOf(circuit)
  }
}

/** Every record of one tick, commands first, as the Java servlet orders them. */
export function formatTick (circuits: readonly CircuitBreaker[], now: number): HystrixRecord[] {
  const samples = circuits.map(sampleCircuit)
  return [...samples.map((sample) => formatCommand(sample, now)), ...formatThreadPools(samples, now)]
}
