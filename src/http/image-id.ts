import { DeliveryError } from '../errors.ts'

const SEGMENT = /^[A-Za-z0-9._-]+$/
const MAX_LENGTH = 512
/** Percent-encoded `/`, `\` and NUL: refused before decoding so they cannot smuggle a separator. */
const ENCODED_SEPARATOR = /%(2f|5c|00)/i

/**
 * Validates the image id: the raw (still percent-encoded) path after `/images/` (SPEC §2).
 * The raw path is used because the router has already decoded `%2F` into a `/`.
 */
export function parseImageId (rawId: string): string {
  const fail = (reason: string) => new DeliveryError('INVALID_IMAGE_ID', `Invalid image id: ${reason}`)
  if (ENCODED_SEPARATOR.test(rawId)) throw fail('encoded separators are not allowed')
  let id: string
  try {
    id = decodeURIComponent(rawId)
  } catch {
    throw fail('bad percent-encoding')
  }
  if (id.length === 0) throw fail('empty')
  if (id.length > MAX_LENGTH) throw fail(`longer than ${MAX_LENGTH} characters`)
  for (const segment of id.split('/')) {
    if (segment === '') throw fail('empty segment')
    if (segment === '.' || segment === '..') throw fail('relative segment')
    if (!SEGMENT.test(segment)) throw fail('only A-Z, a-z, 0-9, ".", "_" and "-" are allowed')
  }
  return id
}
