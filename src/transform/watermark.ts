import { createHash } from 'node:crypto'
import sharp from 'sharp'
import { LRUCache } from 'lru-cache'
import type { GRAVITIES } from './transformation.ts'
import { createSingleFlight } from '../resilience/single-flight.ts'

/** Where and how a watermark goes, with the bucket's values or these defaults filled in. */
export interface WatermarkPlacement {
  position: typeof GRAVITIES[number]
  opacity: number
  /** Watermark width as a fraction of the output width. */
  widthRatio: number
  /** Distance from the edges as a fraction of the output width. */
  margin: number
}

export const DEFAULT_PLACEMENT: WatermarkPlacement = { position: 'southeast', opacity: 0.6, widthRatio: 0.2, margin: 0.02 }

/** A watermark image as the pipeline receives it: the PNG and a stable id for cache keys. */
export interface Watermark {
  png: Buffer
  /** Content hash: a new watermark changes the cache key and so the ETag. */
  id: string
}

const ids = new WeakMap<Buffer, string>()

export function watermarkOf (png: Buffer): Watermark {
  let id = ids.get(png)
  if (id === undefined) {
    id = createHash('sha256').update(png).digest('base64url').slice(0, 16)
    ids.set(png, id)
  }
  return { png, id }
}

export interface PreparedWatermark {
  pixels: Buffer
  width: number
  height: number
}

// Outputs come in a handful of sizes, so the scaled, faded watermark for each is made once; the
// cache is bounded by bytes because a client choosing large sizes makes large raw buffers.
const prepared = new LRUCache<string, PreparedWatermark>({ maxSize: 64 * 1024 * 1024, sizeCalculation: (mark) => Math.max(1, mark.pixels.length) })
const preparing = createSingleFlight<PreparedWatermark>()

/**
 * The watermark scaled to `widthRatio` of the output width (and never taller than the output),
 * its alpha multiplied by `opacity`, as raw RGBA.
 */
export async function prepareWatermark (
  watermark: Watermark,
  output: { width: number, height: number },
  placement: WatermarkPlacement
): Promise<PreparedWatermark> {
  const width = Math.max(1, Math.round(output.width * placement.widthRatio))
  const key = `${watermark.id}:${width}:${output.height}:${placement.opacity}`
  const ready = prepared.get(key)
  if (ready !== undefined) return ready
  return await preparing.run(key, async () => {
    const mark = await scaleAndFade(watermark.png, width, output.height, placement.opacity)
    prepared.set(key, mark)
    return mark
  })
}

async function scaleAndFade (png: Buffer, width: number, maxHeight: number, opacity: number): Promise<PreparedWatermark> {
  const { data, info } = await sharp(png)
    .resize({ width, height: maxHeight, fit: 'inside' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  // sharp's composite has no opacity: scale the alpha channel instead.
  for (let alpha = 3; alpha < data.length; alpha += 4) data[alpha] = Math.round((data[alpha] ?? 0) * opacity)
  return { pixels: data, width: info.width, height: info.height }
}

/** Top-left corner of the watermark in the output, `margin` away from the edges of its anchor. */
export function placeWatermark (
  output: { width: number, height: number },
  mark: { width: number, height: number },
  placement: WatermarkPlacement
): { left: number, top: number } {
  const margin = Math.round(placement.margin * output.width)
  const { position } = placement
  const horizontal = position.endsWith('west') ? 'start' : position.endsWith('east') ? 'end' : 'middle'
  const vertical = position.startsWith('north') ? 'start' : position.startsWith('south') ? 'end' : 'middle'
  const along = (where: string, size: number, markSize: number) =>
    Math.max(0, where === 'start' ? margin : where === 'end' ? size - markSize - margin : Math.round((size - markSize) / 2))
  return { left: along(horizontal, output.width, mark.width), top: along(vertical, output.height, mark.height) }
}
