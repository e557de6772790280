import type { Sharp } from 'sharp'

/** Outputs are sRGB; CMYK and wide-gamut sources are converted, their ICC profile dropped. */
export function colour (image: Sharp): Sharp {
  return image.toColourspace('srgb')
}
