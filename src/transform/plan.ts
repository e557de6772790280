import { DeliveryError } from '../errors.ts'
import { parseAspectRatio, type Fit, type OutputFormat, type Position, type Rotation, type Transformation } from './transformation.ts'
import { chooseOutputFormat, CONTENT_TYPES, type AcceptClass } from './negotiate-format.ts'
import type { SourceInfo } from './probe.ts'
import type { WatermarkPlacement } from './watermark.ts'

export interface Rgba { r: number, g: number, b: number, alpha: number }
export interface Size { width: number, height: number }

export interface PlanSettings {
  maxOutputDimension: number
  /** Pixels of one output frame; frames × this for an output to stay animated. */
  maxOutputPixels: number
  maxAnimationFrames: number
  maxSourcePixels: number
  quality: { jpeg: number, webp: number, avif: number }
  avifEnabled: boolean
}

/**
 * Everything the pipeline needs, decided up front from the transformation, the source's header
 * and the settings. Pure data: the steps only read it, and tests check it without any image.
 */
export interface Plan {
  format: OutputFormat
  contentType: string
  /** Decode every frame (animated source, an output format that can animate, within the limits). */
  animated: boolean
  /** An animated source delivered as its first frame (`X-Animation: first-frame`). */
  firstFrameOnly: boolean
  /** The delivered size of one frame, known before decoding: the pipeline produces exactly this. */
  output: Size
  /** Frames of the output (1 unless animated). */
  frames: number
  /** Frame timing of an animated output (kept from the source). */
  frameDelays: number[] | null
  loop: number | null
  rotate: Rotation
  flipVertical: boolean
  flipHorizontal: boolean
  /** `rect`: the region cut before resizing, in the frame libvips cuts it from (see sourceRegion). */
  region: { left: number, top: number, width: number, height: number } | null
  /** Both sides are always given: the plan, not libvips, decides the output size. */
  resize: {
    width: number
    height: number
    fit: Fit
    position: Position
    withoutEnlargement: boolean
    background: Rgba
  } | null
  /** A crop after resizing, used to centre a focal point (sharp has no focal-point gravity). */
  crop: { left: number, top: number, width: number, height: number } | null
  blurSigma: number
  sharpen: boolean
  /** Background to flatten alpha onto, when the output format has no alpha. */
  flatten: Rgba | null
  quality: number | null
  lossless: boolean
  progressive: boolean
  /** AVIF encoder effort (0–9) from the real output size: lower for large outputs (see avifEffort). */
  effort: number
  /** Where the watermark goes, or null for none. */
  watermark: WatermarkPlacement | null
}

const ALPHA_FORMATS: ReadonlySet<OutputFormat> = new Set(['png', 'webp', 'avif', 'gif'])
const WHITE: Rgba = { r: 255, g: 255, b: 255, alpha: 1 }
const TRANSPARENT: Rgba = { r: 0, g: 0, b: 0, alpha: 0 }

export function planTransform (
  transformation: Transformation,
  source: SourceInfo,
  accepts: AcceptClass,
  settings: PlanSettings,
  watermark: WatermarkPlacement | null = null
): Plan {
  const format = chooseOutputFormat(transformation.format, source, accepts, settings.avifEnabled)
  const rotate = transformation.rotate ?? 0
  const flip = transformation.flip ?? null
  const quarterTurn = rotate % 180 !== 0
  const background = transformation.background === undefined ? null : parseColour(transformation.background)
  const rotated = quarterTurn ? { width: source.height, height: source.width } : source
  const rect = transformation.rect ?? null
  if (rect !== null) checkRect(rect, rotated)
  const framed = rect === null ? rotated : { width: rect[2], height: rect[3] }
  const geometry = planGeometry(transformation, framed, background ?? (ALPHA_FORMATS.has(format) ? TRANSPARENT : WHITE))
  for (const size of geometry.stages) checkOutputLimits(size, settings)

  const outputPixels = geometry.output.width * geometry.output.height
  const largestStage = Math.max(...geometry.stages.map((size) => size.width * size.height))
  // libvips cannot turn a multi-page image by a quarter; such an output is the first frame, as is
  // an animation whose frames would cost more than the limits allow.
  const animated = source.pages > 1 && (format === 'gif' || format === 'webp') && !quarterTurn &&
    source.pages <= settings.maxAnimationFrames &&
    source.pages * largestStage <= settings.maxOutputPixels &&
    source.width * source.height * source.pages <= settings.maxSourcePixels

  return Object.freeze({
    format,
    contentType: CONTENT_TYPES[format],
    animated,
    firstFrameOnly: source.pages > 1 && !animated,
    output: geometry.output,
    frames: animated ? source.pages : 1,
    frameDelays: animated ? source.delay ?? null : null,
    loop: animated ? source.loop ?? null : null,
    rotate,
    // libvips mirrors before it rotates; a quarter turn swaps the axes so the mirror applies to the rotated result.
    flipVertical: quarterTurn ? flip === 'h' || flip === 'hv' : flip === 'v' || flip === 'hv',
    flipHorizontal: quarterTurn ? flip === 'v' || flip === 'hv' : flip === 'h' || flip === 'hv',
    region: rect === null ? null : sourceRegion(rect, rotated, rotate, flip),
    resize: geometry.resize,
    crop: geometry.crop,
    blurSigma: transformation.blur ?? 0,
    sharpen: transformation.sharpen ?? false,
    flatten: !ALPHA_FORMATS.has(format) && source.hasAlpha ? (background ?? WHITE) : null,
    quality: transformation.quality ?? defaultQuality(format, settings.quality),
    lossless: transformation.lossless ?? false,
    progressive: transformation.progressive ?? format === 'jpeg',
    effort: avifEffort(outputPixels),
    watermark
  })
}

/**
 * The plan of a small preview with the output's framing (region, crop, rotation, mirror) and at
 * most `maxSide` pixels a side: the info document's placeholders come from it, never from a
 * full-size render. Blur is kept (scaled); sharpening, flattening and the watermark are left out.
 */
export function previewPlan (plan: Plan, maxSide: number): Plan {
  const scale = Math.min(1, maxSide / Math.max(plan.output.width, plan.output.height))
  const scaled = (size: Size): Size => ({ width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) })
  let output = scaled(plan.output)
  let resize: Plan['resize'] = plan.resize === null
    ? { ...output, fit: 'fill', position: 'center', withoutEnlargement: false, background: TRANSPARENT }
    : { ...plan.resize, ...output }
  let crop: Plan['crop'] = null
  if (plan.resize !== null && plan.crop !== null) {
    // A focal-point crop: scale the intermediate image, then cut the same part of it.
    const intermediate = scaled(plan.resize)
    output = { width: Math.min(output.width, intermediate.width), height: Math.min(output.height, intermediate.height) }
    resize = { ...plan.resize, ...intermediate }
    crop = {
      left: Math.min(intermediate.width - output.width, Math.round(plan.crop.left * scale)),
      top: Math.min(intermediate.height - output.height, Math.round(plan.crop.top * scale)),
      ...output
    }
  }
  return Object.freeze({
    ...plan,
    animated: false,
    frames: 1,
    frameDelays: null,
    loop: null,
    output,
    resize,
    crop,
    // Blur stays, scaled with the preview: a placeholder must not show more than the image does.
    blurSigma: plan.blurSigma === 0 ? 0 : Math.max(MIN_BLUR_SIGMA, plan.blurSigma * scale),
    sharpen: false,
    flatten: null,
    watermark: null
  })
}

/** libvips' smallest gaussian sigma. */
const MIN_BLUR_SIGMA = 0.3

interface Geometry {
  resize: Plan['resize']
  crop: Plan['crop']
  output: Size
  /** Every size the pipeline holds: the output, and the scaled image a focal crop cuts from. */
  stages: Size[]
}

/**
 * The delivered size, computed before decoding the way libvips would: sharp's shrink rules per
 * `fit` (cover crops, contain pads, inside fits, outside covers, fill stretches; one side given
 * keeps the aspect ratio; no `enlarge` never scales up). The resize step is then given both sides
 * explicitly, so the output is exactly this size whatever libvips' rounding would have been.
 */
export function planGeometry (transformation: Transformation, source: Size, background: Rgba): Geometry {
  const box = requestedBox(transformation, source)
  // `ar` alone crops the source to the ratio, whatever `fit` says.
  const fit = isRatioCrop(transformation) ? 'cover' : transformation.fit ?? 'cover'
  const enlarge = transformation.enlarge ?? false
  const focal = transformation.focalPoint
  if (box.width === undefined && box.height === undefined) {
    return { resize: null, crop: null, output: { width: source.width, height: source.height }, stages: [source] }
  }
  if (box.width !== undefined && box.height !== undefined && focal !== undefined && fit === 'cover') {
    const { resize, crop } = focalPointCrop(source, { width: box.width, height: box.height }, focal, enlarge)
    const output = { width: crop.width, height: crop.height }
    return { resize, crop, output, stages: [{ width: resize.width, height: resize.height }, output] }
  }

  const both = box.width !== undefined && box.height !== undefined
  let hShrink = box.width === undefined ? undefined : source.width / box.width
  let vShrink = box.height === undefined ? undefined : source.height / box.height
  if (fit !== 'fill' || !both) {
    // One side given: the other follows the aspect ratio ('fill' keeps the source's other side).
    const keepAspect = fit !== 'fill'
    if (hShrink === undefined) hShrink = keepAspect ? vShrink : 1
    else if (vShrink === undefined) vShrink = keepAspect ? hShrink : 1
    else {
      const common = fit === 'cover' || fit === 'outside' ? Math.min(hShrink, vShrink) : Math.max(hShrink, vShrink)
      hShrink = common
      vShrink = common
    }
  }
  const shrink = (value: number | undefined, side: number): number => Math.min(side, enlarge ? value ?? 1 : Math.max(1, value ?? 1))
  const scaled = {
    width: Math.max(1, Math.round(source.width / shrink(hShrink, source.width))),
    height: Math.max(1, Math.round(source.height / shrink(vShrink, source.height)))
  }

  let output = scaled
  let resizeFit: Fit = 'fill'
  if (both && fit === 'cover') {
    output = { width: Math.min(box.width ?? 0, scaled.width), height: Math.min(box.height ?? 0, scaled.height) }
    resizeFit = 'cover'
  } else if (both && fit === 'contain') {
    output = { width: box.width ?? 0, height: box.height ?? 0 }
    resizeFit = 'contain'
  }
  return {
    resize: {
      ...output,
      fit: resizeFit,
      position: transformation.position ?? 'center',
      // Only 'contain' may still scale inside its box; every other size above is final.
      withoutEnlargement: resizeFit === 'contain' && !enlarge,
      background
    },
    crop: null,
    output,
    stages: [output]
  }
}

/**
 * The box in device pixels: CSS pixels × dpr, the missing side from `ar`. With `ar` alone the box
 * is the largest one of that ratio inside the (framed) source, known only once the source is.
 */
export function requestedBox (transformation: Transformation, source?: Size): { width: number | undefined, height: number | undefined } {
  const dpr = transformation.dpr ?? 1
  let width = transformation.width === undefined ? undefined : Math.max(1, Math.round(transformation.width * dpr))
  let height = transformation.height === undefined ? undefined : Math.max(1, Math.round(transformation.height * dpr))
  const ratio = transformation.aspectRatio === undefined ? undefined : parseAspectRatio(transformation.aspectRatio)
  if (ratio === undefined) return { width, height }
  const [w, h] = ratio
  if (width !== undefined && height !== undefined) {
    throw new DeliveryError('INVALID_PARAMETER', 'Parameter \'ar\' cannot be combined with both \'w\' and \'h\'')
  }
  if (width !== undefined) height = Math.max(1, Math.round(width * h / w))
  else if (height !== undefined) width = Math.max(1, Math.round(height * w / h))
  else if (source !== undefined) {
    const wider = source.width * h > source.height * w
    width = wider ? Math.max(1, Math.round(source.height * w / h)) : source.width
    height = wider ? source.height : Math.max(1, Math.round(source.width * h / w))
  }
  return { width, height }
}

/** `ar` without `w` or `h`: a cover crop of the source to the ratio. */
export function isRatioCrop (transformation: Transformation): boolean {
  return transformation.aspectRatio !== undefined && transformation.width === undefined && transformation.height === undefined
}

/** a region not inside the (oriented, rotated) source is a 400 naming it, before decoding. */
function checkRect (rect: readonly [number, number, number, number], source: Size): void {
  const [x, y, width, height] = rect
  if (x + width > source.width || y + height > source.height) {
    throw new DeliveryError('INVALID_PARAMETER',
      `Parameter 'rect' (${rect.join(',')}) is not inside the source, which is ${source.width}x${source.height} after orientation and rotation`)
  }
}

/**
 * Where libvips must cut `rect`. The region is given in the oriented, rotated source, and the
 * requested mirror applies to the cut (it is not part of the region's frame). libvips cuts after
 * orienting and, when the image is also rotated, after mirroring too: then the region is mirrored
 * the same way, so that the same pixels are cut.
 */
export function sourceRegion (rect: readonly [number, number, number, number], rotated: Size, rotate: Rotation, flip: Transformation['flip']): NonNullable<Plan['region']> {
  const [x, y, width, height] = rect
  const mirrored = rotate !== 0 && flip !== null && flip !== undefined
  const horizontal = mirrored && (flip === 'h' || flip === 'hv')
  const vertical = mirrored && (flip === 'v' || flip === 'hv')
  return {
    left: horizontal ? rotated.width - x - width : x,
    top: vertical ? rotated.height - y - height : y,
    width,
    height
  }
}

/** no side over LIMITS_MAX_OUTPUT_DIMENSION, no more than LIMITS_MAX_OUTPUT_PIXELS, before decoding. */
function checkOutputLimits (size: Size, settings: PlanSettings): void {
  const { width, height } = size
  if (width > settings.maxOutputDimension || height > settings.maxOutputDimension) {
    throw new DeliveryError('INVALID_PARAMETER',
      `The output would be ${width}x${height} pixels; LIMITS_MAX_OUTPUT_DIMENSION is ${settings.maxOutputDimension}`)
  }
  if (width * height > settings.maxOutputPixels) {
    throw new DeliveryError('INVALID_PARAMETER',
      `The output would be ${width}x${height} pixels; LIMITS_MAX_OUTPUT_PIXELS is ${settings.maxOutputPixels}`)
  }
}

/**
 * AVIF (libaom) encode time grows steeply with effort and size: measured here, a 1600 px wide
 * photo took 8.8 s at effort 4 and 1.5 s at effort 2, a 4000 px one 56 s at effort 4 and 1.7 s at
 * effort 0. libaom cannot be interrupted, so a slow encode also holds its transform slot. Small
 * outputs keep the better compression; large ones trade some size for a bounded encode time.
 */
export function avifEffort (outputPixels: number): number {
  if (outputPixels <= 500_000) return 4
  if (outputPixels <= 2_000_000) return 2
  return 0
}

export function defaultQuality (format: OutputFormat, quality: PlanSettings['quality']): number | null {
  switch (format) {
    case 'jpeg': return quality.jpeg
    case 'webp': return quality.webp
    case 'avif': return quality.avif
    case 'png':
    case 'gif':
      return null
  }
}

/**
 * Cover-crop around a focal point: scale so the box is covered, then cut the box out with the
 * focal point as close to its centre as the image edges allow. Without `enlarge`, a source
 * smaller than the box is not scaled up and the box shrinks to fit it.
 */
export function focalPointCrop (
  source: { width: number, height: number },
  box: { width: number, height: number },
  focal: readonly [number, number],
  enlarge: boolean
): { resize: NonNullable<Plan['resize']>, crop: NonNullable<Plan['crop']> } {
  let scale = Math.max(box.width / source.width, box.height / source.height)
  if (scale > 1 && !enlarge) scale = 1
  const scaledWidth = Math.max(1, Math.round(source.width * scale))
  const scaledHeight = Math.max(1, Math.round(source.height * scale))
  const width = Math.min(box.width, scaledWidth)
  const height = Math.min(box.height, scaledHeight)
  const left = clamp(Math.round(focal[0] * scaledWidth - width / 2), 0, scaledWidth - width)
  const top = clamp(Math.round(focal[1] * scaledHeight - height / 2), 0, scaledHeight - height)
  return {
    resize: { width: scaledWidth, height: scaledHeight, fit: 'fill', position: 'center', withoutEnlargement: false, background: TRANSPARENT },
    crop: { left, top, width, height }
  }
}

function clamp (value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}

/** `#rgb`, `#rrggbb` or `#rrggbbaa` (the `#` optional) → RGBA. */
export function parseColour (hex: string): Rgba {
  let digits = hex.replace(/^#/, '')
  if (digits.length === 3) digits = [...digits].map((d) => d + d).join('')
  const channel = (index: number) => parseInt(digits.slice(index, index + 2), 16)
  return { r: channel(0), g: channel(2), b: channel(4), alpha: digits.length === 8 ? channel(6) / 255 : 1 }
}
