import type { Sharp } from 'sharp'
import type { Plan } from '../plan.ts'

/**
 * Encodes in the planned format. sharp writes no metadata unless asked to, which is the
 * stripping of EXIF, XMP and ICC every output requires.
 */
export function encode (image: Sharp, plan: Plan): Sharp {
  const quality = plan.quality ?? undefined
  // Timing survives the raw round trip of the watermark step only if given again here.
  const timing = plan.animated
    ? { ...(plan.frameDelays === null ? {} : { delay: plan.frameDelays }), ...(plan.loop === null ? {} : { loop: plan.loop }) }
    : {}
  switch (plan.format) {
    case 'jpeg':
      return image.jpeg({ quality, progressive: plan.progressive, mozjpeg: false })
    case 'png':
      return image.png({ progressive: plan.progressive })
    case 'webp':
      return image.webp({ quality, lossless: plan.lossless, ...timing })
    case 'avif':
      return image.avif({ quality, lossless: plan.lossless, effort: plan.effort })
    case 'gif':
      return image.gif(timing)
  }
}
