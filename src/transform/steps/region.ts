import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

/** Called before `resize`, sharp's extract cuts the source (`rect`). */
export function region (image: Sharp, plan: Plan): Sharp {
  return plan.region === null ? image : image.extract(plan.region)
}
