import type { Transformation } from '../transform/transformation.ts'
import { GRAVITIES } from '../transform/transformation.ts'

/** Identifies a bucket of originals. */
export interface BucketRef {
  tenant: string
  domain: string
  bucket: string
}

export type AdHocPolicy = 'allow' | 'signed' | 'deny'
export const AD_HOC_POLICIES = ['allow', 'signed', 'deny'] as const satisfies readonly AdHocPolicy[]

export interface WatermarkSpec {
  /** Applied to every delivered image, whatever the request says. */
  required?: boolean
  position?: typeof GRAVITIES[number]
  opacity?: number
  /** Watermark width as a fraction of the output width. */
  widthRatio?: number
  /** Distance from the edges as a fraction of the output width. */
  margin?: number
}

/** What the logic manager says about a bucket. */
export interface BucketLogic {
  rules?: Record<string, Transformation>
  /** Applied when a request names no rule and no parameter: a rule name or a transformation. */
  defaultRule?: string | Transformation | null
  watermark?: WatermarkSpec | null
  cacheControl?: string | null
  /** Whether ad-hoc parameters are accepted; `allow` when absent. */
  adHoc?: AdHocPolicy
}

export interface CallContext {
  requestId: string
  signal?: AbortSignal
}

/**
 * Where bucket logic, aliases and watermarks come from: a local file or the remote logic manager
 * and translator. `null` means "does not exist"; failures are DeliveryErrors.
 */
export interface LogicProvider {
  getBucketLogic: (bucket: BucketRef, context: CallContext) => Promise<BucketLogic | null>
  resolveAlias: (alias: string, context: CallContext) => Promise<BucketRef | null>
  getWatermark: (bucket: BucketRef, context: CallContext) => Promise<Buffer | null>
  /**
   * Whether the source names this tenant (not only matches it with a wildcard): only such tenants
   * become metric tag values, so made-up URLs cannot grow tag cardinality.
   */
  isKnownTenant: (tenant: string) => boolean
  /**
   * The aliases that point at this bucket, for purging their routes at the CDN. The file logic
   * knows them; the translator has no reverse lookup, so a provider without it purges none.
   */
  aliasesOf?: (bucket: BucketRef) => Promise<string[]>
}

export function bucketKey (bucket: BucketRef): string {
  return `${bucket.tenant}/${bucket.domain}/${bucket.bucket}`
}
