import type { OutputFormat, RequestedFormat } from './transformation.ts'
import type { SourceInfo } from './probe.ts'

/** The part of `Accept` that `fm=auto` depends on; part of the cache key of negotiated outputs. */
export type AcceptClass = 'avif' | 'webp' | 'other'

export function acceptClass (accept: string, avifEnabled: boolean): AcceptClass {
  const named = namedTypes(accept)
  if (avifEnabled && named.has('image/avif')) return 'avif'
  if (named.has('image/webp')) return 'webp'
  return 'other'
}

/**
 * The media types an `Accept` header names explicitly with a weight above 0 (RFC 9110 §12.5.1).
 * Written here rather than taken from `negotiator`: that library lets `*\/*` match any type, and a
 * wildcard must not earn AVIF or WebP, which older browsers send it with and cannot decode.
 */
function namedTypes (accept: string): Set<string> {
  const types = new Set<string>()
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase())
    const weight = parameters.find((parameter) => /^q\s*=/.test(parameter))
    if (weight !== undefined && Number(weight.replace(/^q\s*=\s*/, '')) === 0) continue
    types.add(type)
  }
  return types
}

const SAME_AS_SOURCE: Record<string, OutputFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif' }

/**
 * Picks the output format (`fm`): the requested one, the source's own when none is asked,
 * or for `auto` the best the client accepts. AVIF off (a kill switch) turns AVIF into WebP.
 */
export function chooseOutputFormat (
  requested: RequestedFormat | undefined,
  source: Pick<SourceInfo, 'format' | 'hasAlpha' | 'isAvif'>,
  accepts: AcceptClass,
  avifEnabled: boolean
): OutputFormat {
  const fallback: OutputFormat = source.hasAlpha ? 'png' : 'jpeg'
  switch (requested) {
    case undefined:
      if (source.isAvif) return avifEnabled ? 'avif' : 'webp'
      return SAME_AS_SOURCE[source.format] ?? fallback
    case 'auto':
      return accepts === 'other' ? fallback : accepts
    case 'avif':
      return avifEnabled ? 'avif' : 'webp'
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'gif':
      return requested
  }
}

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif'
}
