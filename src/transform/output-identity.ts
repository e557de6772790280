import { defaultQuality, isRatioCrop, requestedBox, type PlanSettings } from './plan.ts'
import { normalizeTransformation, OUTPUT_FORMATS, type OutputFormat, type Transformation } from './transformation.ts'

/**
 * What a transformation asks of the output, with everything that cannot change the bytes left out
 * (requests that produce the same output share one cache entry and one ETag). `w=100&dpr=2`
 * and `w=200` are one box; a quality equal to the format's default, a `pos` without a cover box or
 * an option the format ignores are nothing. Computed without the source, so a hit needs no probe.
 */
export function outputIdentity (transformation: Transformation, quality: PlanSettings['quality']): Transformation {
  const { dpr: _dpr, ...rest } = normalizeTransformation(transformation)
  const identity: Transformation = { ...rest }
  const box = requestedBox(transformation)
  // `ar` alone is a cover crop of a box known only with the source: the ratio is its identity.
  const ratioCrop = isRatioCrop(transformation)
  const both = ratioCrop || (box.width !== undefined && box.height !== undefined)
  const fit = ratioCrop ? 'cover' : transformation.fit ?? 'cover'
  if (ratioCrop) {
    // The box is inside the source: nothing to enlarge.
    delete identity.fit
    delete identity.enlarge
  } else delete identity.aspectRatio
  const format = (OUTPUT_FORMATS as readonly string[]).includes(transformation.format ?? '') ? transformation.format as OutputFormat : null

  if (box.width === undefined) delete identity.width
  else identity.width = box.width
  if (box.height === undefined) delete identity.height
  else identity.height = box.height
  if (box.width === undefined && box.height === undefined && !ratioCrop) {
    delete identity.fit
    delete identity.enlarge
  }
  if (!both || fit !== 'cover') delete identity.focalPoint
  if (!both || fit !== 'cover' || identity.focalPoint !== undefined) delete identity.position

  if (format !== null) {
    if (identity.quality === defaultQuality(format, quality) || format === 'png' || format === 'gif') delete identity.quality
    if (format !== 'webp' && format !== 'avif') delete identity.lossless
    if (identity.progressive === (format === 'jpeg') || format === 'webp' || format === 'avif' || format === 'gif') delete identity.progressive
  }
  // Sides derived from `ar` are added last: sorted keys make `w=100&ar=1:1` and `w=100&h=100` one key.
  return Object.fromEntries(Object.entries(identity).toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as Transformation
}
