import type { CachedImage, ImageCache } from './image-cache.ts'

export interface TieredCache extends ImageCache {
  /** Waits for the background writes of every tier that has them (shutdown, tests). */
  flush: () => Promise<void>
}

type Tier = ImageCache & { flush?: () => Promise<void> }

/**
 * Tiers from fastest to slowest (memory, then the shared S3 bucket). A lookup stops at the first
 * hit and copies it into the faster tiers, so the next request for it stays in-process; a write
 * goes to every tier. Each tier already turns its failures into misses.
 */
export function createTieredCache (tiers: readonly Tier[]): TieredCache {
  async function get (key: string): Promise<CachedImage | undefined> {
    for (const [index, tier] of tiers.entries()) {
      const image = await tier.get(key)
      if (image === undefined) continue
      for (const faster of tiers.slice(0, index)) faster.set(key, image)
      return image
    }
    return undefined
  }

  function set (key: string, image: CachedImage): void {
    for (const tier of tiers) tier.set(key, image)
  }

  async function flush (): Promise<void> {
    await Promise.all(tiers.map(async (tier) => { await tier.flush?.() }))
  }

  return { get, set, flush }
}
