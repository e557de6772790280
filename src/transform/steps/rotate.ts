import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

export function rotate (image: Sharp, plan: Plan): Sharp {
  return plan.rotate === 0 ? image : image.rotate(plan.rotate)
}
