import { DeliveryError } from '../errors.ts'
import type { BucketLogic, BucketRef } from '../logic/bucket-logic.ts'
import type { Transformation } from '../transform/transformation.ts'
import { DEFAULT_PLACEMENT, type WatermarkPlacement } from '../transform/watermark.ts'
import type { ImageQuery } from './image-query.ts'

/**
 * Whether an output is watermarked, in one place: a bucket that requires its watermark always
 * gets it (`wm=0` cannot switch it off, and a bare URL is then no passthrough); otherwise the
 * rule's or the query's `watermark`/`wm` decides; WATERMARK_ENABLED=false switches every
 * watermark off during an outage.
 */
export type WatermarkNeed =
  | { wanted: false }
  | {
    wanted: true
    placement: WatermarkPlacement
    /** A bucket without a watermark file: the client's mistake when only `wm=1` asked, else the logic's. */
    whenMissing: 'client' | 'logic'
  }

export function watermarkNeed (transformation: Transformation, query: ImageQuery, logic: BucketLogic, enabled: boolean): WatermarkNeed {
  const required = logic.watermark?.required === true
  if (!enabled || (!required && transformation.watermark !== true)) return { wanted: false }
  const spec = logic.watermark ?? {}
  return {
    wanted: true,
    placement: {
      position: spec.position ?? DEFAULT_PLACEMENT.position,
      opacity: spec.opacity ?? DEFAULT_PLACEMENT.opacity,
      widthRatio: spec.widthRatio ?? DEFAULT_PLACEMENT.widthRatio,
      margin: spec.margin ?? DEFAULT_PLACEMENT.margin
    },
    whenMissing: query.isAdHoc && !required ? 'client' : 'logic'
  }
}

/** The error for a wanted watermark the bucket does not have: never a silent unwatermarked image. */
export function missingWatermark (whenMissing: 'client' | 'logic', bucket: BucketRef): DeliveryError {
  return whenMissing === 'client'
    ? new DeliveryError('INVALID_PARAMETER', 'Parameter \'wm\': this bucket has no watermark')
    : new DeliveryError('UPSTREAM_ERROR', `Bucket ${bucket.tenant}/${bucket.domain}/${bucket.bucket} asks for a watermark it does not have`)
}
