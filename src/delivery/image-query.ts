import type { Transformation } from '../transform/transformation.ts'

/** What the query string asks for, before the bucket's logic is known. */
export interface ImageQuery {
  /** A named rule of the bucket (`rule`). */
  rule?: string
  /** Parameters given with the rule (`dpr`, `fm`), or every ad-hoc parameter without one. */
  transformation: Transformation
  /** True when ad-hoc parameters (not only a rule and its overrides) were given. */
  isAdHoc: boolean
  /**
   * `fm=json`: answer the info document of what the same URL without it delivers. Not a format of
   * the transformation (the rule's or the source's format stays), so a rule never needs one.
   */
  info: boolean
  /** `s`: signature of the ad-hoc parameters. */
  signature?: string
  /** Every parameter but `s`, values exactly as in the URL, for signature checks. */
  rawPairs: ReadonlyArray<readonly [string, string]>
}
