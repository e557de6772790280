import { DeliveryError } from '../errors.ts'
import { imageIdProblem } from '../names.ts'

/** Percent-encoded `/`, `\` and NUL: refused before decoding so they cannot smuggle a separator. */
const ENCODED_SEPARATOR = /%(2f|5c|00)/i

/**
 * Validates the image id: the raw (still percent-encoded) path after `/images/`.
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
  const problem = imageIdProblem(id)
  if (problem !== null) throw fail(problem)
  return id
}
