import { LRUCache } from 'lru-cache'

export interface StaleOnErrorOptions {
  /** Freshness of a found answer; read on every store, so a dynamic change applies at once. */
  ttlMs: () => number
  /** Freshness of a "does not exist" answer: short, so a new bucket or alias shows up soon. */
  notFoundTtlMs?: number
  /** Keys kept, fresh or stale; the least recently used go first. */
  maxEntries?: number
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
  clear: () => void
}

interface Entry<T> {
  value: T | null
  freshUntil: number
}

export function createStaleOnErrorCache<T> (options: StaleOnErrorOptions): StaleOnErrorCache<T> {
  const notFoundTtlMs = options.notFoundTtlMs ?? 5000
  // No TTL on the LRU itself: expired entries are the stale answers served while loads fail.
  const entries = new LRUCache<string, Entry<T>>({ max: options.maxEntries ?? 10000 })
  const inFlight = new Map<string, Promise<T | null>>()

  function load (key: string, loader: () => Promise<T | null>): Promise<T | null> {
    let pending = inFlight.get(key)
    if (pending === undefined) {
      pending = loader()
        .then((value) => {
          const ttl = value === null ? Math.min(notFoundTtlMs, options.ttlMs()) : options.ttlMs()
          entries.set(key, { value, freshUntil: Date.now() + ttl })
          return value
        })
        .finally(() => { inFlight.delete(key) })
      inFlight.set(key, pending)
    }
    return pending
  }

  return {
    async get (key, loader) {
      const entry = entries.get(key)
      if (entry !== undefined && entry.freshUntil > Date.now()) return entry.value
      try {
        return await load(key, loader)
      } catch (error) {
        const last = entries.get(key) ?? entry
        if (last === undefined) throw error
        options.onStale?.(key, error)
        return last.value
      }
    },
    clear () { entries.clear() }
  }
}
