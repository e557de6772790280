import zlib from 'node:zlib'
import sharp from 'sharp'

/** A JPEG of the given size: left half red, right half blue, so crops and flips are visible. */
export async function makeJpeg (width: number, height: number, options: { orientation?: number, quality?: number } = {}): Promise<Buffer> {
  const half = Math.max(1, Math.floor(width / 2))
  const left = await sharp({ create: { width: half, height, channels: 3, background: '#ff0000' } }).png().toBuffer()
  let image = sharp({ create: { width, height, channels: 3, background: '#0000ff' } })
    .composite([{ input: left, left: 0, top: 0 }])
    .jpeg({ quality: options.quality ?? 90 })
  if (options.orientation !== undefined) image = image.withMetadata({ orientation: options.orientation })
  return await image.toBuffer()
}

/** A PNG with real transparency: an opaque green square in the middle of a transparent field. */
export async function makeAlphaPng (width: number, height: number): Promise<Buffer> {
  const square = await sharp({ create: { width: Math.floor(width / 2), height: Math.floor(height / 2), channels: 4, background: { r: 0, g: 255, b: 0, alpha: 1 } } }).png().toBuffer()
  return await sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: square, left: Math.floor(width / 4), top: Math.floor(height / 4) }])
    .png()
    .toBuffer()
}

/** An animated GIF of `frames` solid frames of different colours. */
export async function makeAnimatedGif (width: number, height: number, frames: number): Promise<Buffer> {
  const pages = await Promise.all(Array.from({ length: frames }, async (_, i) =>
    await sharp({ create: { width, height, channels: 3, background: { r: (i * 60) % 256, g: 100, b: 255 - (i * 60) % 256 } } }).png().toBuffer()))
  return await sharp(pages, { join: { animated: true } }).gif({ delay: 100, loop: 0 }).toBuffer()
}

/**
 * A decompression bomb: a valid PNG header announcing `width`×`height` pixels over a tiny zlib
 * stream. Decoding it would need width×height×3 bytes; a header check refuses it for free.
 */
export function makePngBomb (width: number, height: number): Buffer {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  const idat = zlib.deflateSync(Buffer.alloc(64 * 1024))
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))])
}

function pngChunk (type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(zlib.crc32(body))
  return Buffer.concat([length, body, crc])
}

export interface Pixel { r: number, g: number, b: number, alpha: number }

/** The RGBA value at (x, y) of an encoded image. */
export async function pixelAt (image: Buffer, x: number, y: number): Promise<Pixel> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  const offset = (y * info.width + x) * 4
  return { r: data[offset] ?? -1, g: data[offset + 1] ?? -1, b: data[offset + 2] ?? -1, alpha: data[offset + 3] ?? -1 }
}

export function isReddish (pixel: Pixel): boolean {
  return pixel.r > 180 && pixel.b < 80
}

export function isBluish (pixel: Pixel): boolean {
  return pixel.b > 180 && pixel.r < 80
}
