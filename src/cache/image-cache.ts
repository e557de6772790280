/** A transformed image as the cache keeps it: everything needed to answer without the original. */
export interface CachedImage {
  bytes: Buffer
  contentType: string
  lastModified: Date
  /** An animated source delivered as its first frame (`X-Animation: first-frame`). */
  firstFrameOnly?: boolean
}

/**
 * A store of transformed images by cache key. Lookups never throw: a failing tier is a miss
 * (the service degrades to transforming again, never to an error for the user).
 */
export interface ImageCache {
  get: (key: string) => Promise<CachedImage | undefined>
  /** Stores in the background; the response never waits for it. */
  set: (key: string, image: CachedImage) => void
}
