import type { EventEmitter } from 'node:events'
import type CircuitBreaker from 'opossum'
import { BREAKER_EVENTS, type BreakerEvent } from '../observability/metric-names.ts'

/**
 * Everything the service relies on in opossum beyond its typings: the live options and the
 * semaphore kept on the circuit, the shape of its rolling window, its error codes and its events.
 * An opossum upgrade is checked here and by test/unit/breakers.test.ts.
 */

/** What may change on a live circuit (`BREAKER_<NAME>_*`), in the service's units. */
export interface LiveSettings {
  timeoutMs: number
  errorThresholdPercent: number
  maxConcurrent: number
  resetMs: number
}

/** What a circuit reports of its settings (the Hystrix stream shows them all). */
export interface CircuitSettings extends LiveSettings {
  volumeThreshold: number
  rollingWindowMs: number
}

/** The counts and latencies of the rolling window; opossum's raw list of latencies left out. */
export type WindowStats = Omit<CircuitBreaker.Stats, 'latencyTimes'>

/** The options opossum keeps on the instance and re-reads on every call (not in its typings). */
interface LiveOptions {
  timeout: number | false
  errorThresholdPercentage: number
  resetTimeout: number
  capacity: number
  rollingCountTimeout: number
}

/** The semaphore opossum sizes once, from `capacity`, at construction. */
interface Semaphore {
  readonly count: number
  take: () => Promise<unknown>
  release: () => void
}

const internals = (circuit: CircuitBreaker): { options: LiveOptions, semaphore: Semaphore } =>
  circuit as unknown as { options: LiveOptions, semaphore: Semaphore }

/** The constructor options that carry the live settings. */
export function opossumOptions (settings: LiveSettings): { timeout: number, errorThresholdPercentage: number, resetTimeout: number, capacity: number } {
  return {
    timeout: settings.timeoutMs,
    errorThresholdPercentage: settings.errorThresholdPercent,
    resetTimeout: settings.resetMs,
    capacity: settings.maxConcurrent
  }
}

/** The timeout now in force; 0 when the circuit has none. */
export function timeoutMsOf (circuit: CircuitBreaker): number {
  const { timeout } = internals(circuit).options
  return timeout === false ? 0 : timeout
}

/** Applies new settings to a running circuit: the next call uses them. */
export function applySettings (circuit: CircuitBreaker, next: LiveSettings): void {
  const { options, semaphore } = internals(circuit)
  // Widen or narrow the one semaphore by the difference: a release adds a permit, an unanswered
  // take removes one as soon as it is free.
  const difference = next.maxConcurrent - options.capacity
  for (let i = 0; i < difference; i++) semaphore.release()
  for (let i = 0; i < -difference; i++) void semaphore.take()
  Object.assign(options, opossumOptions(next))
}

export function settingsOf (circuit: CircuitBreaker): CircuitSettings {
  const { options } = internals(circuit)
  return {
    timeoutMs: timeoutMsOf(circuit),
    errorThresholdPercent: options.errorThresholdPercentage,
    resetMs: options.resetTimeout,
    maxConcurrent: options.capacity,
    volumeThreshold: circuit.volumeThreshold,
    rollingWindowMs: options.rollingCountTimeout
  }
}

/** Calls holding a permit now. */
export function runningCalls (circuit: CircuitBreaker): number {
  const { options, semaphore } = internals(circuit)
  return Math.max(0, options.capacity - semaphore.count)
}

export function windowStats (circuit: CircuitBreaker): WindowStats {
  const { latencyTimes: _latencyTimes, ...stats } = circuit.stats
  return stats
}

/** Whether the circuit refused the call without running it: open, or every permit taken. */
export function isRefusal (error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'EOPENBREAKER' || code === 'ESEMLOCKED'
}

/**
 * Counts a fallback served outside opossum (a stale answer). opossum counts its window from its
 * own events, so the event is the count.
 */
export function countFallback (circuit: CircuitBreaker, ...details: unknown[]): void {
  circuit.emit('fallback', ...details)
}

/** opossum's name for each breaker event; only half-open is spelled otherwise. */
const CIRCUIT_EVENTS: Readonly<Record<BreakerEvent, string>> = {
  open: 'open',
  close: 'close',
  halfopen: 'halfOpen',
  fallback: 'fallback',
  timeout: 'timeout',
  failure: 'failure'
}

/** Makes the circuit also emit each of BREAKER_EVENTS under that name, so listeners need no other. */
export function emitBreakerEvents (circuit: CircuitBreaker): void {
  // Its typings list only opossum's own events.
  const emitter: EventEmitter = circuit
  for (const event of BREAKER_EVENTS) {
    const source = CIRCUIT_EVENTS[event]
    if (source !== event) emitter.on(source, (...args: unknown[]) => { emitter.emit(event, ...args) })
  }
}
