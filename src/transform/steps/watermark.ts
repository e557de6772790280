import sharp, { type Sharp } from 'sharp'
import type { Plan } from '../plan.ts'
import type { StepInputs } from '../pipeline.ts'
import { placeWatermark, prepareWatermark } from '../watermark.ts'

/**
 * Composites the watermark onto the transformed image, after resizing and before encoding
 * (SPEC §4–§5). The output size is only known once the earlier steps ran, so they are rendered
 * to raw pixels first and the watermark is placed on that. An animated image is one tall strip
 * of frames: the watermark is placed on every frame.
 */
export async function watermark (image: Sharp, plan: Plan, inputs: StepInputs): Promise<Sharp> {
  if (plan.watermark === null || inputs.watermark === null) return image
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true })
  const pageHeight = info.pageHeight ?? info.height
  const pages = Math.max(1, Math.round(info.height / pageHeight))
  const frame = { width: info.width, height: pageHeight }
  const mark = await prepareWatermark(inputs.watermark, frame, plan.watermark)
  const { left, top } = placeWatermark(frame, mark, plan.watermark)
  const raw = {
    width: info.width,
    height: info.height,
    channels: info.channels,
    premultiplied: info.premultiplied,
    ...(pages > 1 ? { pageHeight } : {})
  }
  return sharp(data, { raw }).composite(Array.from({ length: pages }, (_, page) => ({
    input: mark.pixels,
    raw: { width: mark.width, height: mark.height, channels: 4 as const },
    left,
    top: top + page * pageHeight
  })))
}
