import type { SigningKeys } from '../schema.ts'

/**
 * The secrets a request or an operator's call checks against (SECRETS_SOURCE). They are read at
 * use time, never copied: a rotated secret applies to the next request.
 */
export interface Secrets {
  /** SIGNING_KEYS: every listed key of a `<tenant>/<domain>` is valid (rotation). */
  signingKeys: () => SigningKeys
  /** ADMIN_TOKEN, or null: the admin port is read-only. */
  adminToken: () => string | null
}
