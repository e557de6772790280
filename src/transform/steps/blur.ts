import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

export function blur (image: Sharp, plan: Plan): Sharp {
  return plan.blurSigma === 0 ? image : image.blur(plan.blurSigma)
}
