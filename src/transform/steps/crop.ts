import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

/** Called after `resize`, sharp's extract cuts the resized image (the focal-point crop). */
export function crop (image: Sharp, plan: Plan): Sharp {
  return plan.crop === null ? image : image.extract(plan.crop)
}
