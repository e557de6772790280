import { LRUCache } from 'lru-cache'
import { createSingleFlight } from './single-flight.ts'

export interface StaleOnErrorOptions {
  /** Freshness of a found answer; read on every store, so a dynamic change applies at once. */
  ttlMs: () => number
  /** Freshness of a "does not exist" answer: short, so a new bucket or alias shows up soon. */
  notFoundTtlMs?: number
  /** Found answers kept, fresh or stale; the least recently used go first. */
  maxEntries?: number
  /**
   * "Does not exist" answers kept, apart from the found ones: URLs choose these keys, so a flood of
   * made-up names must never evict the real answers served while the upstream fails.
   */
  maxUnknown?: number
  /** The clock (tests). */
  now?: () => number
  /** Called each time a failed load is answered with the last good value. */
  onStale?: (key: string, error: unknown) => void
}

export interface StaleOnErrorCache<T> {
  /**
   * The fresh cached answer, else the result of `load` (shared by every concurrent caller of the
   * same key). When `load` fails, the last good answer is returned however old it is; with none,
   * the error is thrown. `null` means "does not exist" and is cached too.
   */
  get: (key: string, load: () => Promise<T | null>) => Promise<T | null>
}

interface Entry<T> {
  value: T
  freshUntil: number
}

export function createStaleOnErrorCache<T> (options: StaleOnErrorOptions): StaleOnErrorCache<T> {
  const notFoundTtlMs = options.notFoundTtlMs ?? 5000
  const now = options.now ?? Date.now
  // No TTL on the LRU itself: expired entries are the stale answers served while loads fail.
  const entries = new LRUCache<string, Entry<T>>({ max: options.maxEntries ?? 10000 })
  // Values are the time until which "does not exist" holds.
  const unknown = new LRUCache<string, number>({ max: options.maxUnknown ?? 10000 })
  const loads = createSingleFlight<T | null>()

  function remember (key: string, value: T | null): void {
    if (value === null) {
      entries.delete(key)
      unknown.set(key, now() + Math.min(notFoundTtlMs, options.ttlMs()))
    } else {
      unknown.delete(key)
      entries.set(key, { value, freshUntil: now() + options.ttlMs() })
    }
  }

  return {
    async get (key, loader) {
      if ((unknown.get(key) ?? 0) > now()) return null
      const entry = entries.get(key)
      if (entry !== undefined && entry.freshUntil > now()) return entry.value
      try {
        return await loads.run(key, async () => {
          const value = await loader()
          remember(key, value)
          return value
        })
      } catch (error) {
        const last = entries.get(key) ?? entry
        const knownMissing = last === undefined && unknown.has(key)
        if (last === undefined && !knownMissing) throw error
        options.onStale?.(key, error)
        return last?.value ?? null
      }
    }
  }
}
