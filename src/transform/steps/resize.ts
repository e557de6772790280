import sharp, { type Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

const ANCHORS = {
  center: sharp.gravity.centre,
  north: sharp.gravity.north,
  northeast: sharp.gravity.northeast,
  east: sharp.gravity.east,
  southeast: sharp.gravity.southeast,
  south: sharp.gravity.south,
  southwest: sharp.gravity.southwest,
  west: sharp.gravity.west,
  northwest: sharp.gravity.northwest,
  attention: sharp.strategy.attention,
  entropy: sharp.strategy.entropy
} as const

export function resize (image: Sharp, plan: Plan): Sharp {
  const { resize: box } = plan
  if (box === null) return image
  return image.resize({
    width: box.width,
    height: box.height,
    fit: box.fit,
    position: ANCHORS[box.position],
    withoutEnlargement: box.withoutEnlargement,
    background: box.background
  })
}
