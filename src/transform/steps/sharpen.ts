import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

/** A mild unsharp mask that restores the crispness lost when downscaling. */
export function sharpen (image: Sharp, plan: Plan): Sharp {
  return plan.sharpen ? image.sharpen({ sigma: 0.5 }) : image
}
