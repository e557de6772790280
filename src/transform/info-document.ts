import sharp from 'sharp'
import { rgbaToThumbHash } from 'thumbhash'
import { previewPlan, type Plan } from './plan.ts'
import { renderRgba, type PipelineOptions } from './pipeline.ts'
import type { SourceInfo } from './probe.ts'

/** The `fm=json` answer. */
export interface InfoDocument {
  source: { width: number, height: number, format: string, bytes: number, pages: number, hasAlpha: boolean }
  output: { width: number, height: number, format: string }
  dominantColor: string
  thumbhash: string
  placeholder: string
}

export const INFO_CONTENT_TYPE = 'application/json'

/** ThumbHash encodes images of at most 100 × 100 pixels. */
const PREVIEW_SIDE = 100
const PLACEHOLDER_SIDE = 32
/** Enough to hide the blocks of a 32 px image scaled up by the page, little enough to keep its shapes. */
const PLACEHOLDER_BLUR_SIGMA = 1.2
const PLACEHOLDER_QUALITY = 50

export interface DescribeInput {
  input: Buffer | string
  source: SourceInfo
  sourceBytes: number
  /** The plan of the image the same URL delivers: its output is the document's `output`. */
  plan: Plan
  /** The URL delivers the original unchanged: its format is the source's own. */
  passthrough: boolean
}

/**
 * The info document from one small render with the output's framing: the sizes come from the
 * plan (so they are what the image URL delivers), the colours and placeholders from a preview of
 * at most 100 px a side, never from a full-size encode.
 */
export async function describeImage (what: DescribeInput, options: Omit<PipelineOptions, 'watermark'>): Promise<Buffer> {
  const { source, plan } = what
  const preview = await renderRgba(what.input, previewPlan(plan, PREVIEW_SIDE), options)
  const raw = { raw: { width: preview.width, height: preview.height, channels: 4 as const } }
  const [stats, placeholder] = await Promise.all([
    sharp(preview.bytes, raw).stats(),
    sharp(preview.bytes, raw)
      .resize(PLACEHOLDER_SIDE, PLACEHOLDER_SIDE, { fit: 'inside', withoutEnlargement: true })
      .blur(PLACEHOLDER_BLUR_SIGMA)
      .webp({ quality: PLACEHOLDER_QUALITY })
      .toBuffer()
  ])
  const sourceFormat = source.isAvif ? 'avif' : source.format
  const document: InfoDocument = {
    source: { width: source.width, height: source.height, format: sourceFormat, bytes: what.sourceBytes, pages: source.pages, hasAlpha: source.hasAlpha },
    output: { width: plan.output.width, height: plan.output.height, format: what.passthrough ? sourceFormat : plan.format },
    dominantColor: hexColour(stats.dominant),
    thumbhash: Buffer.from(rgbaToThumbHash(preview.width, preview.height, preview.bytes)).toString('base64'),
    placeholder: `data:image/webp;base64,${placeholder.toString('base64')}`
  }
  return Buffer.from(JSON.stringify(document))
}

function hexColour ({ r, g, b }: { r: number, g: number, b: number }): string {
  return `#${[r, g, b].map((channel) => channel.toString(16).padStart(2, '0')).join('')}`
}
