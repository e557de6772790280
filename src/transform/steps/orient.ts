import type { Sharp } from 'sharp'

/** EXIF orientation is applied to every output, before the requested rotation. */
export function orient (image: Sharp): Sharp {
  return image.autoOrient()
}
