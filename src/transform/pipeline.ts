import sharp, { type Sharp } from 'sharp'
import { DeliveryError } from '../errors.ts'
import type { Plan } from './plan.ts'
import { orient } from './steps/orient.ts'
import { rotate } from './steps/rotate.ts'
import { flip } from './steps/flip.ts'
import { region } from './steps/region.ts'
import { resize } from './steps/resize.ts'
import { crop } from './steps/crop.ts'
import { blur } from './steps/blur.ts'
import { sharpen } from './steps/sharpen.ts'
import { flatten } from './steps/flatten.ts'
import { colour } from './steps/colour.ts'
import { watermark } from './steps/watermark.ts'
import { encode } from './steps/encode.ts'
import type { Step, StepInputs } from './steps/step.ts'
import type { Watermark } from './watermark.ts'

/**
 * The order of the steps is fixed here, never taken from the query. (libvips also applies
 * rotation before resizing whatever the call order; listing it the same way keeps it readable.)
 */
export const STEPS: readonly Step[] = [orient, rotate, flip, region, resize, crop, blur, sharpen, flatten, colour, watermark, encode]

/** The steps that decide what an output shows, without sharpening, watermark and encoding (the info document's preview). */
const FRAMING_STEPS: readonly Step[] = [orient, rotate, flip, region, resize, crop, blur, colour]

// The libvips operation cache helps repeated identical operations, which a delivery service
// rarely sees (the transformed-image cache absorbs those); it would only hold memory.
sharp.cache(false)

export interface PipelineOptions {
  maxPixels: number
  timeoutMs: number
  watermark: Watermark | null
}

export interface PipelineOutput {
  bytes: Buffer
  width: number
  height: number
}

/**
 * Runs the plan over the original. Errors are DeliveryErrors: a libvips failure on input we
 * accepted is UNSUPPORTED_SOURCE. The caller bounds the time (the limiter's deadline); sharp's own
 * timeout additionally stops libvips where it can, so an abandoned transformation frees its thread.
 */
export async function runPipeline (input: Buffer | string, plan: Plan, options: PipelineOptions): Promise<PipelineOutput> {
  return await run(input, plan, options, STEPS, (image) => image)
}

/** The preview plan's pixels as RGBA, unencoded: what ThumbHash and the placeholder are made from. */
export async function renderRgba (input: Buffer | string, plan: Plan, options: Omit<PipelineOptions, 'watermark'>): Promise<PipelineOutput> {
  return await run(input, plan, { ...options, watermark: null }, FRAMING_STEPS, (image) => image.ensureAlpha().raw())
}

async function run (
  input: Buffer | string,
  plan: Plan,
  options: PipelineOptions,
  steps: readonly Step[],
  finish: (image: Sharp) => Sharp
): Promise<PipelineOutput> {
  const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000))
  const inputs: StepInputs = { watermark: options.watermark }
  try {
    let image = sharp(input, { animated: plan.animated, limitInputPixels: options.maxPixels, sequentialRead: true })
    for (const step of steps) image = (await step(image, plan, inputs)).timeout({ seconds })
    const { data, info } = await finish(image).toBuffer({ resolveWithObject: true })
    return { bytes: data, width: info.width, height: info.height }
  } catch (error) {
    if (error instanceof DeliveryError) throw error
    if (error instanceof Error && /timeout/i.test(error.message)) throw new DeliveryError('TRANSFORM_TIMEOUT', undefined, { cause: error })
    throw new DeliveryError('UNSUPPORTED_SOURCE', 'Source could not be decoded', { cause: error })
  }
}
