import { MAX_ENCODABLE_DIMENSION } from '../config/schema.ts'

/**
 * The transformation: the JSON form of the ad-hoc parameters, as rules store it and as
 * the query parser produces it. Every field is optional; an absent field means "the default".
 */

export const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const
export const GRAVITIES = ['center', 'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest'] as const
export const STRATEGIES = ['attention', 'entropy'] as const
export const POSITIONS = [...GRAVITIES, ...STRATEGIES] as const
export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif'] as const
export const REQUESTED_FORMATS = ['auto', ...OUTPUT_FORMATS] as const
export const ROTATIONS = [0, 90, 180, 270] as const
export const FLIPS = ['h', 'v', 'hv'] as const

export type Fit = typeof FITS[number]
export type Position = typeof POSITIONS[number]
export type OutputFormat = typeof OUTPUT_FORMATS[number]
export type RequestedFormat = typeof REQUESTED_FORMATS[number]
export type Rotation = typeof ROTATIONS[number]
export type Flip = typeof FLIPS[number]

/**
 * Numeric ranges shared by the query parser and the JSON Schema (one source of truth).
 * Output dimensions are further capped at run time by `LIMITS_MAX_OUTPUT_DIMENSION`; the schema
 * uses the encoders' own ceiling (WebP and AVIF cannot encode a longer side).
 */
export const RANGES = {
  dimension: { min: 1, max: MAX_ENCODABLE_DIMENSION },
  dpr: { min: 1, max: 4 },
  quality: { min: 1, max: 100 },
  blur: { min: 0.3, max: 100 },
  focalPoint: { min: 0, max: 1 },
  /** `rect` offsets and sizes, source pixels (6 digits: far beyond LIMITS_MAX_SOURCE_PIXELS' sides). */
  region: { min: 0, max: 999_999 },
  /** Each side of an `ar` ratio. */
  ratio: { min: 1, max: 9999 }
} as const

/** `16:9`: each side 1…9999, no leading zero (so one ratio has one spelling, up to reduction). */
export const ASPECT_RATIO_PATTERN = '^[1-9][0-9]{0,3}:[1-9][0-9]{0,3}$'
const ASPECT_RATIO = new RegExp(ASPECT_RATIO_PATTERN)

/** `W:H` → [W, H], or undefined when it is not a ratio. */
export function parseAspectRatio (text: string): readonly [number, number] | undefined {
  if (!ASPECT_RATIO.test(text)) return undefined
  const [w, h] = text.split(':').map(Number)
  return w === undefined || h === undefined ? undefined : [w, h]
}

/** `32:18` and `16:9` are one ratio, so one cache entry. */
export function reduceAspectRatio (text: string): string {
  const ratio = parseAspectRatio(text)
  if (ratio === undefined) return text
  const divisor = gcd(ratio[0], ratio[1])
  return `${ratio[0] / divisor}:${ratio[1] / divisor}`
}

function gcd (a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

export interface Transformation {
  width?: number
  height?: number
  fit?: Fit
  position?: Position
  /** [x, y], each 0…1 from the top left; overrides `position`. */
  focalPoint?: readonly [number, number]
  /** [x, y, width, height]: a region of the oriented, rotated source, cut before resizing. */
  rect?: readonly [number, number, number, number]
  /** `W:H` of the delivered image: with one of width/height the other follows; with neither, a cover crop of the source. */
  aspectRatio?: string
  enlarge?: boolean
  dpr?: number
  format?: RequestedFormat
  quality?: number
  lossless?: boolean
  progressive?: boolean
  /** Gaussian sigma; 0 means none. */
  blur?: number
  sharpen?: boolean
  rotate?: Rotation
  flip?: Flip | null
  /** `#rgb`, `#rrggbb` or `#rrggbbaa`. */
  background?: string
  watermark?: boolean
}

export type TransformationField = keyof Transformation

/** Values equal to these change nothing, so they are dropped from the normalized form. */
const NEUTRAL: Partial<Record<TransformationField, unknown>> = {
  fit: 'cover',
  position: 'center',
  enlarge: false,
  dpr: 1,
  lossless: false,
  blur: 0,
  sharpen: false,
  rotate: 0,
  flip: null
}

/**
 * The canonical form of a transformation: neutral values dropped, keys sorted, colours lower-cased
 * with a leading `#`. Two requests that must give the same image normalize to the same object,
 * which is what the cache key and the ETag are built from.
 */
export function normalizeTransformation (transformation: Transformation): Transformation {
  const normalized: Record<string, unknown> = {}
  for (const key of Object.keys(transformation).sort() as TransformationField[]) {
    let value: unknown = transformation[key]
    if (value === undefined || NEUTRAL[key] === value) continue
    if (key === 'background' && typeof value === 'string') value = normalizeColour(value)
    if (key === 'focalPoint' && Array.isArray(value)) value = [value[0], value[1]]
    if (key === 'rect' && Array.isArray(value)) value = [value[0], value[1], value[2], value[3]]
    if (key === 'aspectRatio' && typeof value === 'string') value = reduceAspectRatio(value)
    normalized[key] = value
  }
  return normalized as Transformation
}

export function normalizeColour (hex: string): string {
  return `#${hex.replace(/^#/, '').toLowerCase()}`
}

export function isEmptyTransformation (transformation: Transformation): boolean {
  return Object.keys(normalizeTransformation(transformation)).length === 0
}
