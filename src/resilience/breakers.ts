import CircuitBreaker from 'opossum'
import { DeliveryError, isDeliveryError } from '../errors.ts'
import { applySettings, emitBreakerEvents, isRefusal, opossumOptions, timeoutMsOf, type LiveSettings } from './opossum-internals.ts'
import { isTimeout } from './timeouts.ts'

/** Breaker names are the original service's; dashboards and Turbine key on them. */
export const BREAKER_NAMES = {
  watermark: 'DeliveryImages#GetWatermarkFromLogicManager',
  logic: 'DeliveryImages#GetLogicFromLogicManager',
  alias: 'DeliveryImages#GetResourceByAliasFromTranslator',
  origin: 'DeliveryImages#GetOriginalFromStorage'
} as const

/** Hystrix thread-pool groups: one per remote dependency. */
export const BREAKER_GROUPS = {
  watermark: 'LogicManager',
  logic: 'LogicManager',
  alias: 'Translator',
  origin: 'Storage'
} as const satisfies Record<BreakerKey, string>

export type BreakerKey = keyof typeof BREAKER_NAMES

/** `BREAKER_<NAME>_{TIMEOUT_MS,ERROR_THRESHOLD_PERCENT,MAX_CONCURRENT,RESET_MS}`, dynamic. */
export type BreakerSettings = LiveSettings

export interface Breaker {
  readonly key: BreakerKey
  readonly circuit: CircuitBreaker<[Call<unknown>, number], unknown>
  /**
   * Runs `call` through the circuit. The call gets a signal that aborts at the breaker's timeout,
   * so a timed-out request is really cancelled, not left running. Client errors (4xx
   * DeliveryErrors such as IMAGE_NOT_FOUND) pass through without counting as failures.
   */
  fire: <T>(call: Call<T>) => Promise<T>
  configure: (settings: BreakerSettings) => void
}

export type Call<T> = (signal: AbortSignal) => Promise<T>

export interface BreakerOptions {
  /** Calls in the rolling window before the error percentage can open the circuit (Hystrix: 20). */
  volumeThreshold?: number
  rollingWindowMs?: number
}

export function createBreaker (key: BreakerKey, settings: BreakerSettings, options: BreakerOptions = {}): Breaker {
  const circuit = new CircuitBreaker<[Call<unknown>, number], unknown>(
    async (call: Call<unknown>, timeoutMs: number) => await call(AbortSignal.timeout(timeoutMs)),
    {
      name: BREAKER_NAMES[key],
      group: BREAKER_GROUPS[key],
      ...opossumOptions(settings),
      volumeThreshold: options.volumeThreshold ?? 10,
      rollingCountTimeout: options.rollingWindowMs ?? 10000,
      rollingCountBuckets: 10,
      errorFilter: (error: unknown) => isDeliveryError(error) && error.statusCode < 500
    }
  )
  emitBreakerEvents(circuit)

  return {
    key,
    circuit,
    async fire<T> (call: Call<T>): Promise<T> {
      try {
        // The call's signal and opossum's own timer share the timeout now in force.
        return await circuit.fire(call, timeoutMsOf(circuit)) as T
      } catch (error) {
        throw translateBreakerError(key, error)
      }
    },
    configure (next) { applySettings(circuit, next) }
  }
}

function translateBreakerError (key: BreakerKey, error: unknown): unknown {
  if (isDeliveryError(error)) return error
  if (isRefusal(error)) {
    return new DeliveryError('DEPENDENCY_UNAVAILABLE', `${BREAKER_NAMES[key]} is unavailable`, { cause: error })
  }
  if (isTimeout(error)) {
    return new DeliveryError('UPSTREAM_TIMEOUT', `${BREAKER_NAMES[key]} timed out`, { cause: error })
  }
  return new DeliveryError('UPSTREAM_ERROR', `${BREAKER_NAMES[key]} failed`, { cause: error })
}

export type Breakers = Readonly<Record<BreakerKey, Breaker>>

/** The four breakers of the service, one per remote call kind. */
export function createBreakers (settings: Readonly<Record<BreakerKey, BreakerSettings>>, options: BreakerOptions = {}): Breakers {
  return {
    watermark: createBreaker('watermark', settings.watermark, options),
    logic: createBreaker('logic', settings.logic, options),
    alias: createBreaker('alias', settings.alias, options),
    origin: createBreaker('origin', settings.origin, options)
  }
}
