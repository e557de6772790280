import { createHash } from 'node:crypto'
import type { SourceVersion } from '../origins/origin.ts'
import type { AcceptClass } from '../transform/negotiate-format.ts'
import { outputIdentity } from '../transform/output-identity.ts'
import type { PlanSettings } from '../transform/plan.ts'
import type { Transformation } from '../transform/transformation.ts'

export interface CacheKeyInput {
  originKey: string
  version: SourceVersion
  transformation: Transformation
  /** Only for `fm=auto`: the output then depends on the client's Accept header. */
  accepts: AcceptClass | null
  /** Default qualities: an explicit quality equal to the default is the same output. */
  quality: PlanSettings['quality']
  /** Settings that change the output bytes (default qualities, AVIF switch, limits, watermark). */
  settings: unknown
  /** Watermark identity and placement, or null: a new watermark must change the ETag. */
  watermark: unknown
  /** The info document of the output (`fm=json`), not the output itself. */
  info: boolean
  /** The purges that cover the image (`PurgeState.generation`): after a purge, a new key and ETag. */
  generation: string
}

/**
 * The key of a transformed image, also its strong ETag: a hash of the source version, what the
 * transformation asks of the output, and everything else the output bytes depend on.
 */
export function cacheKey (input: CacheKeyInput): string {
  return createHash('sha256')
    .update(JSON.stringify([
      input.originKey,
      input.version.tag,
      outputIdentity(input.transformation, input.quality),
      input.accepts,
      input.settings,
      input.watermark,
      input.info,
      input.generation
    ]))
    .digest('base64url')
    .slice(0, 32)
}

/** The ETag of an original delivered unchanged. */
export function passthroughKey (originKey: string, version: SourceVersion, generation: string): string {
  return createHash('sha256').update(JSON.stringify([originKey, version.tag, 'original', generation])).digest('base64url').slice(0, 32)
}
