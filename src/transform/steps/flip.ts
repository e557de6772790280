import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

/** sharp's `flip` mirrors top-bottom and `flop` left-right. */
export function flip (image: Sharp, plan: Plan): Sharp {
  let result = image
  if (plan.flipVertical) result = result.flip()
  if (plan.flipHorizontal) result = result.flop()
  return result
}
