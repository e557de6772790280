import { DeliveryError } from '../errors.ts'
import type { ImageQuery } from './image-query.ts'
import type { BucketLogic } from '../logic/bucket-logic.ts'
import type { Transformation } from '../transform/transformation.ts'

/**
 * Decides the transformation to apply from the query and the bucket's logic:
 * a named rule (with `dpr`/`fm` overrides), ad-hoc parameters if the bucket allows them, or the
 * bucket's default rule. Whether the output is watermarked is the watermark policy's decision.
 */
export function resolveTransformation (
  query: ImageQuery,
  logic: BucketLogic,
  isSignatureValid: () => boolean
): Transformation {
  let transformation: Transformation
  if (query.rule !== undefined) {
    const rule = logic.rules?.[query.rule]
    if (rule === undefined || !Object.hasOwn(logic.rules ?? {}, query.rule)) {
      throw new DeliveryError('RULE_NOT_FOUND', `Rule '${query.rule}' does not exist for this bucket`)
    }
    transformation = { ...rule, ...query.transformation }
  } else if (query.isAdHoc) {
    const policy = logic.adHoc ?? 'allow'
    if (policy === 'deny') throw new DeliveryError('ADHOC_NOT_ALLOWED')
    if (policy === 'signed' && !isSignatureValid()) throw new DeliveryError('INVALID_SIGNATURE')
    transformation = query.transformation
  } else {
    const defaultRule = logic.defaultRule ?? null
    transformation = typeof defaultRule === 'string' ? logic.rules?.[defaultRule] ?? {} : defaultRule ?? {}
  }
  return transformation
}
