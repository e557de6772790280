/**
 * The names a URL or a remote answer may carry into an origin key or a remote URL.
 * One definition, so the HTTP layer, the origins and the remote clients cannot disagree on what
 * may reach a file path, an S3 key or a logic-manager URL.
 */

/** `:tenant`, `:domain`, `:bucket`, `:alias`: never a dot first, so `.`, `..` and `.x` cannot climb or hide. */
const PATH_PART = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
/** One segment of an image id; `.` and `..` are refused separately. */
const ID_SEGMENT = /^[A-Za-z0-9._-]+$/
export const MAX_IMAGE_ID_LENGTH = 512

export function isPathPart (value: unknown): value is string {
  return typeof value === 'string' && PATH_PART.test(value)
}

/** Why a decoded image id is refused, or null when it is acceptable. */
export function imageIdProblem (id: string): string | null {
  if (id.length === 0) return 'empty'
  if (id.length > MAX_IMAGE_ID_LENGTH) return `longer than ${MAX_IMAGE_ID_LENGTH} characters`
  for (const segment of id.split('/')) {
    if (segment === '') return 'empty segment'
    if (segment === '.' || segment === '..') return 'relative segment'
    if (!ID_SEGMENT.test(segment)) return 'only A-Z, a-z, 0-9, ".", "_" and "-" are allowed'
  }
  return null
}
