import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The string an ad-hoc URL signs: the path without `/api/v1`, `?`, and every parameter
 * but `s` sorted by name as `name=value` joined with `&`, values exactly as sent.
 */
export function signedPayload (path: string, rawPairs: ReadonlyArray<readonly [string, string]>): string {
  const query = [...rawPairs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
  return `${path}?${query}`
}

export function sign (key: string, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url')
}

/** True when `signature` matches any of the keys (several keys allow rotation). Constant-time. */
export function verifySignature (keys: readonly string[], payload: string, signature: string | undefined): boolean {
  if (signature === undefined || signature === '') return false
  const given = Buffer.from(signature)
  let valid = false
  for (const key of keys) {
    const expected = Buffer.from(sign(key, payload))
    // Every key is checked, so the time taken does not reveal which one matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true
  }
  return valid
}
