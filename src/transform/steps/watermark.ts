import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'
import type { StepInputs } from './step.ts'
import { placeWatermark, prepareWatermark } from '../watermark.ts'

/**
 * Composites the watermark onto the transformed image. libvips composites after
 * resizing and cropping, and the plan knows the output size before decoding, so the image is never
 * rendered to raw pixels in the JS heap: memory stays what libvips needs for the output itself. An
 * animated image is one tall strip of frames, so the watermark is placed on every frame.
 */
export async function watermark (image: Sharp, plan: Plan, inputs: StepInputs): Promise<Sharp> {
  if (plan.watermark === null || inputs.watermark === null) return image
  const frame = plan.output
  const mark = await prepareWatermark(inputs.watermark, frame, plan.watermark)
  const { left, top } = placeWatermark(frame, mark, plan.watermark)
  const pages = plan.animated ? plan.frames : 1
  return image.composite(Array.from({ length: pages }, (_, page) => ({
    input: mark.pixels,
    raw: { width: mark.width, height: mark.height, channels: 4 as const },
    left,
    top: top + page * frame.height
  })))
}
