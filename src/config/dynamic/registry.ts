import { isDeepStrictEqual } from 'node:util'
import type { Logger } from 'pino'
import { leafOfVariable, valueAt } from '../leaves.ts'
import type { AppConfig } from '../schema.ts'
import { describeConfig } from './describe.ts'
import { createLayers, type DynamicLayer } from './layers.ts'
import { createListeners } from './listeners.ts'
import { checkDynamic, UNKNOWN_PROPERTY } from './parse.ts'
import { isDynamic, type DynamicKey, type DynamicValues } from './properties.ts'
import type { ApplyResult, DynamicConfig, Rejection } from './types.ts'

export interface DynamicConfigOptions {
  config: AppConfig
  logger: Logger
  /** Counts `dynamic_config.change`, e.g. `metrics.dynamicConfigChange`. */
  onChangeMetric?: (key: string) => void
  /** The environment the static configuration was loaded from; tells `env` from `file` sources. */
  env?: NodeJS.ProcessEnv
}

/**
 * The registry of dynamic properties: the layers hold parsed values, every raw value is checked
 * first, and every change of an effective value is logged, counted and announced.
 */
export function createDynamicConfig (options: DynamicConfigOptions): DynamicConfig {
  const { config } = options
  const logger = options.logger.child({ component: 'dynamic-config' })
  const env = options.env ?? process.env
  const layers = createLayers(config)
  const listeners = createListeners(logger)
  // A source re-sends the same bad value every poll: report it once, not every few seconds.
  const reported = new Map<string, unknown>()

  /** Runs `update`, then logs, counts and announces every key whose effective value moved. */
  function changing (keys: Iterable<DynamicKey>, layer: DynamicLayer, update: () => void): void {
    const before = new Map([...keys].map((key) => [key, layers.effective(key).value]))
    update()
    for (const [key, previous] of before) {
      const value = layers.effective(key).value
      if (isDeepStrictEqual(previous, value)) continue
      logger.info({ key, previous, value, layer }, `dynamic property ${key} changed`)
      options.onChangeMetric?.(key)
      listeners.notify(key, value, previous)
    }
  }

  function reject (key: string, raw: unknown, reason: string, layer: DynamicLayer): Rejection {
    if (!reported.has(key) || !isDeepStrictEqual(reported.get(key), raw)) {
      reported.set(key, raw)
      logger.warn({ key, value: raw, layer, reason }, `rejected dynamic property ${key}: ${reason}; keeping the current value`)
    }
    return { key, reason }
  }

  return {
    isDynamic,
    get: <K extends DynamicKey>(key: K) => layers.effective(key).value as DynamicValues[K],
    getOr<T> (key: string, dflt: T): T {
      const path = leafOfVariable(key)?.path
      const value = isDynamic(key) ? layers.effective(key).value : path === undefined ? undefined : valueAt(config, path)
      if (value === undefined || value === null) return dflt
      if (dflt !== null && dflt !== undefined && typeof value !== typeof dflt) return dflt
      return value as T
    },
    onChange: listeners.on,
    apply (values, layer) {
      const current = layers.of(layer)
      const next = new Map<DynamicKey, unknown>()
      const result: ApplyResult = { applied: [], rejected: [] }
      for (const [key, raw] of Object.entries(values)) {
        const checked = checkDynamic(key, raw)
        if (checked.ok) {
          next.set(checked.key, checked.value)
          reported.delete(key)
          result.applied.push(key)
        } else {
          result.rejected.push(reject(key, raw, checked.reason, layer))
          // The old value stays: a typo in the table must not revert a working setting.
          if (isDynamic(key) && current.has(key)) next.set(key, current.get(key))
        }
      }
      changing(new Set([...current.keys(), ...next.keys()]), layer, () => { layers.replace(layer, next) })
      return result
    },
    set (key, raw, layer) {
      if (raw === null && isDynamic(key)) {
        const previous = layers.effective(key).value
        changing([key], layer, () => { layers.remove(layer, key) })
        return { ok: true, value: layers.effective(key).value, previous }
      }
      const checked = checkDynamic(key, raw)
      if (!checked.ok) {
        reject(key, raw, checked.reason, layer)
        return checked.reason === UNKNOWN_PROPERTY ? { ...checked, unknownKey: true } : checked
      }
      const previous = layers.effective(checked.key).value
      changing([checked.key], layer, () => { layers.set(layer, checked.key, checked.value) })
      return { ok: true, value: checked.value, previous }
    },
    describe: () => describeConfig(config, env, layers.effective)
  }
}
