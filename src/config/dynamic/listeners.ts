import type { Logger } from 'pino'
import type { DynamicKey } from './properties.ts'
import type { ChangeListener } from './types.ts'

export interface Listeners {
  on: <K extends DynamicKey>(key: K, listener: ChangeListener<K>) => () => void
  /** Calls every listener of `key`; one that throws is logged and does not stop the others. */
  notify: (key: DynamicKey, value: unknown, previous: unknown) => void
}

export function createListeners (logger: Logger): Listeners {
  const listeners = new Map<DynamicKey, Set<ChangeListener<DynamicKey>>>()
  return {
    on (key, listener) {
      const set = listeners.get(key) ?? new Set()
      listeners.set(key, set)
      // Stored untyped: `notify` only ever calls a key's listeners with that key's values.
      const stored = listener as unknown as ChangeListener<DynamicKey>
      set.add(stored)
      return () => { set.delete(stored) }
    },
    notify (key, value, previous) {
      for (const listener of listeners.get(key) ?? []) {
        try {
          listener(value as never, previous as never)
        } catch (error) {
          logger.error({ err: error, key }, `applying dynamic property ${key} failed`)
        }
      }
    }
  }
}
