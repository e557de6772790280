import type { BucketRef } from '../logic/bucket-logic.ts'

/**
 * What purges and takedowns say of an image, the two questions the delivery asks: any registry
 * that answers them will do (the purge registry, or none).
 */
export interface PurgeState {
  /** A token that changes with every purge covering the image (its own or its bucket's); '' when none. */
  generation: (bucket: BucketRef, imageId: string) => string
  /** True while the image or its bucket is under a takedown. */
  isTakenDown: (bucket: BucketRef, imageId: string) => boolean
}

/** No purge has ever happened: every key stays as it is. */
export const NO_PURGES: PurgeState = { generation: () => '', isTakenDown: () => false }
