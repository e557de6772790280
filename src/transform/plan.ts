import type { Fit, OutputFormat, Position, Rotation, Transformation } from './transformation.ts'
import { chooseOutputFormat, CONTENT_TYPES, type AcceptClass } from './negotiate-format.ts'
import type { SourceInfo } from './probe.ts'
import type { WatermarkPlacement } from './watermark.ts'

export interface Rgba { r: number, g: number, b: number, alpha: number }

export interface PlanSettings {
  maxOutputDimension: number
  /** Pixels of one output frame; frames × this for an output to stay animated (SPEC §10.3). */
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
  /** Decode every frame (animated source and an output format that can animate). */
  animated: boolean
  /** Frame timing of an animated output (kept from the source). */
  frameDelays: number[] | null
  loop: number | null
  rotate: Rotation
  flipVertical: boolean
  flipHorizontal: boolean
  resize: {
    width?: number
    height?: number
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
  /** AVIF encoder effort (0–9): lower for large outputs, whose encode time grows steeply (see avifEffort). */
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
  const box = targetBox(transformation, settings.maxOutputDimension)
  const canAnimate = format === 'gif' || format === 'webp'
  // libvips cannot turn a multi-page image by a quarter; such an output is the first frame.
  const animated = source.pages > 1 && canAnimate && rotate % 180 === 0 &&
    source.width * source.height * source.pages <= settings.maxSourcePixels

  const fit = transformation.fit ?? 'cover'
  const enlarge = transformation.enlarge ?? false
  const hasBox = box.width !== undefined || box.height !== undefined
  const focal = transformation.focalPoint
  const rotated = rotate % 180 === 0 ? source : { width: source.height, height: source.width }
  const focalCrop = focal !== undefined && fit === 'cover' && box.width !== undefined && box.height !== undefined
    ? focalPointCrop(rotated, { width: box.width, height: box.height }, focal, enlarge)
    : null

  let resize: Plan['resize'] = null
  if (focalCrop !== null) {
    resize = focalCrop.resize
  } else if (hasBox) {
    resize = {
      ...box,
      fit,
      position: transformation.position ?? 'center',
      withoutEnlargement: !enlarge,
      background: background ?? (ALPHA_FORMATS.has(format) ? TRANSPARENT : WHITE)
    }
  }

  return Object.freeze({
    format,
    contentType: CONTENT_TYPES[format],
    animated,
    frameDelays: animated ? source.delay ?? null : null,
    loop: animated ? source.loop ?? null : null,
    rotate,
    // libvips mirrors before it rotates; a quarter turn swaps the axes so the mirror applies to the rotated result.
    flipVertical: quarterTurn ? flip === 'h' || flip === 'hv' : flip === 'v' || flip === 'hv',
    flipHorizontal: quarterTurn ? flip === 'v' || flip === 'hv' : flip === 'h' || flip === 'hv',
    resize,
    crop: focalCrop?.crop ?? null,
    blurSigma: transformation.blur ?? 0,
    sharpen: transformation.sharpen ?? false,
    flatten: !ALPHA_FORMATS.has(format) && source.hasAlpha ? (background ?? WHITE) : null,
    quality: transformation.quality ?? defaultQuality(format, settings.quality),
    lossless: transformation.lossless ?? false,
    progressive: transformation.progressive ?? format === 'jpeg',
    effort: avifEffort(estimateOutputPixels(resize, focalCrop?.crop ?? null, rotated)),
    watermark
  })
}

/** CSS pixels × dpr, scaled down as a whole when a side would exceed the output limit. */
function targetBox (transformation: Transformation, maxDimension: number): { width?: number, height?: number } {
  const dpr = transformation.dpr ?? 1
  const width = transformation.width === undefined ? undefined : transformation.width * dpr
  const height = transformation.height === undefined ? undefined : transformation.height * dpr
  const scale = Math.min(1, maxDimension / (width ?? 1), maxDimension / (height ?? 1))
  const box: { width?: number, height?: number } = {}
  if (width !== undefined) box.width = Math.max(1, Math.round(width * scale))
  if (height !== undefined) box.height = Math.max(1, Math.round(height * scale))
  return box
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

/** Output size from the plan, before libvips computes it exactly (enough to choose an effort). */
function estimateOutputPixels (
  resize: Plan['resize'],
  crop: Plan['crop'],
  source: { width: number, height: number }
): number {
  if (crop !== null) return crop.width * crop.height
  if (resize === null) return source.width * source.height
  const { width, height } = resize
  if (width !== undefined && height !== undefined) return width * height
  if (width !== undefined) return width * Math.round(width * source.height / source.width)
  if (height !== undefined) return height * Math.round(height * source.width / source.height)
  return source.width * source.height
}

function defaultQuality (format: OutputFormat, quality: PlanSettings['quality']): number | null {
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
