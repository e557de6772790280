import { LRUCache } from 'lru-cache'
import type { CachedImage, ImageCache } from './image-cache.ts'

/** Rough per-entry bookkeeping (key, object, LRU links) added to the image bytes. */
const ENTRY_OVERHEAD_BYTES = 512

/** The in-process tier: an LRU bounded by bytes (`CACHE_MEMORY_MAX_BYTES`; 0 turns it off). */
export function createMemoryCache (maxBytes: number): ImageCache {
  if (maxBytes === 0) return { get: async () => undefined, set: () => {} }
  const lru = new LRUCache<string, CachedImage>({
    maxSize: maxBytes,
    // One huge output must not flush the whole cache.
    maxEntrySize: Math.max(1, Math.floor(maxBytes / 8)),
    sizeCalculation: (image) => image.bytes.length + ENTRY_OVERHEAD_BYTES
  })
  return {
    get: async (key) => lru.get(key),
    set: (key, image) => { lru.set(key, image) }
  }
}
