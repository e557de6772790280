import sharp, { type Sharp } from 'sharp'
import type { Plan } from '../plan.ts'
import type { StepInputs } from '../pipeline.ts'
import { placeWatermark, prepareWatermark } from '../watermark.ts'

/**
 * Composites the watermark onto the transformed image, after resizing and before encoding
 * (SPEC §4–§5). The output size is only known once the earlier steps ran, so they are rendered
 * to raw pixels first and the watermark is placed on that.
 */
export async function watermark (image: Sharp, plan: Plan, inputs: StepInputs): Promise<Sharp> {
  if (plan.watermark === null || inputs.watermark === null) return image
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true })
  const mark = await prepareWatermark(inputs.watermark, info, plan.watermark)
  const position = placeWatermark(info, mark, plan.watermark)
  const raw = { width: info.width, height: info.height, channels: info.channels }
  return sharp(data, { raw }).composite([{
    input: mark.pixels,
    raw: { width: mark.width, height: mark.height, channels: 4 },
    ...position
  }])
}
