import sharp, { type Metadata } from 'sharp'
import { DeliveryError } from '../errors.ts'

/** What the header of an original says, read without decoding its pixels. */
export interface SourceInfo {
  /** sharp's name of the container: jpeg, png, webp, gif, heif, tiff. */
  format: string
  /** Display width and height: after EXIF orientation, of one frame. */
  width: number
  height: number
  /** Frames (1 for still images). */
  pages: number
  hasAlpha: boolean
  /** True for AVIF (an AV1-compressed HEIF). */
  isAvif: boolean
  /** Frame delays (ms) and loop count of an animation, kept when the output is animated. */
  delay?: number[]
  loop?: number
}

/** Raster formats we decode. SVG and PDF are refused: rendering untrusted vector input is a risk we do not need. */
const DECODABLE = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff'])

/**
 * Reads the header and enforces the pixel limit before anything is decoded, so a decompression
 * bomb costs a header parse, not gigabytes of memory (422).
 */
export async function probeSource (input: Buffer | string, maxPixels: number): Promise<SourceInfo> {
  let metadata: Metadata
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata()
  } catch (error) {
    throw new DeliveryError('UNSUPPORTED_SOURCE', 'Source is not a decodable image', { cause: error })
  }
  const { format, width, height } = metadata
  if (format === undefined || !DECODABLE.has(format) || width === undefined || height === undefined || width < 1 || height < 1) {
    throw new DeliveryError('UNSUPPORTED_SOURCE', `Source format ${format ?? 'unknown'} is not supported`)
  }
  const pageHeight = metadata.pageHeight ?? height
  if (width * pageHeight > maxPixels) {
    throw new DeliveryError('SOURCE_TOO_MANY_PIXELS', `Source is ${width}x${pageHeight} pixels; the limit is ${maxPixels}`)
  }
  return {
    format,
    width: metadata.autoOrient.width,
    height: metadata.autoOrient.height,
    pages: metadata.pages ?? 1,
    hasAlpha: metadata.hasAlpha,
    isAvif: format === 'heif' && metadata.compression === 'av1',
    ...(metadata.delay === undefined ? {} : { delay: metadata.delay }),
    ...(metadata.loop === undefined ? {} : { loop: metadata.loop })
  }
}
