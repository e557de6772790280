import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

/** Alpha cannot survive JPEG: merge it onto the background instead of letting it turn black. */
export function flatten (image: Sharp, plan: Plan): Sharp {
  return plan.flatten === null ? image : image.flatten({ background: plan.flatten })
}
