import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'
import type { Watermark } from '../watermark.ts'

/** What a step may need besides the plan. */
export interface StepInputs {
  watermark: Watermark | null
}

/** One stage of the pipeline: reads the plan, adds its libvips operation. */
export type Step = (image: Sharp, plan: Plan, inputs: StepInputs) => Sharp | Promise<Sharp>
