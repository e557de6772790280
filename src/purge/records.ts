import type { BucketRef } from '../logic/bucket-logic.ts'
import { imageIdProblem, isPathPart } from '../names.ts'

/**
 * A purge as the dynamic-configuration source stores it: one item per scope, under
 * `purge:<tenant>/<domain>/<bucket>` (a bucket) or `purge:<tenant>/<domain>/<bucket>/<imageId>`
 * (an image), whose value is the JSON of the scope's last purge. Every instance derives its purge
 * state from these items alone, so all of them agree on generations and takedowns.
 */
export const PURGE_KEY_PREFIX = 'purge:'

/** An image of a bucket, or the whole bucket (`imageId` null). */
export interface PurgeScope {
  bucket: BucketRef
  imageId: string | null
}

export interface PurgeRecord {
  /** Changes with each purge of the scope: it becomes part of every cache key and ETag under it. */
  purgeId: string
  /** When the purge was accepted (ISO 8601, audit); the source's last write of a scope wins, not the clock. */
  at: string
  /** While true, the scope answers 451 IMAGE_TAKEN_DOWN. */
  takedown: boolean
  /** Who asked for it (audit). */
  who: string
}

export type Parsed<T> = { ok: true, value: T } | { ok: false, reason: string }

/** `acme/news/photos` or `acme/news/photos/2026/a.jpg`: the scope in logs, answers and keys. */
export function scopeName (scope: PurgeScope): string {
  const { tenant, domain, bucket } = scope.bucket
  return scope.imageId === null ? `${tenant}/${domain}/${bucket}` : `${tenant}/${domain}/${bucket}/${scope.imageId}`
}

export function recordKey (scope: PurgeScope): string {
  return PURGE_KEY_PREFIX + scopeName(scope)
}

/** Tenant, domain and bucket cannot hold a `/`, so the fourth segment on is the image id. */
export function scopeOfKey (key: string): Parsed<PurgeScope> {
  if (!key.startsWith(PURGE_KEY_PREFIX)) return { ok: false, reason: `does not start with ${PURGE_KEY_PREFIX}` }
  const [tenant, domain, bucket, ...rest] = key.slice(PURGE_KEY_PREFIX.length).split('/')
  if (!isPathPart(tenant) || !isPathPart(domain) || !isPathPart(bucket)) {
    return { ok: false, reason: 'must be purge:<tenant>/<domain>/<bucket>[/<imageId>] with valid path parts' }
  }
  if (rest.length === 0) return { ok: true, value: { bucket: { tenant, domain, bucket }, imageId: null } }
  const imageId = rest.join('/')
  const problem = imageIdProblem(imageId)
  if (problem !== null) return { ok: false, reason: `image id: ${problem}` }
  return { ok: true, value: { bucket: { tenant, domain, bucket }, imageId } }
}

const PURGE_ID = /^[A-Za-z0-9._-]{1,128}$/

/**
 * A record from a table (JSON text) or a file (an object or JSON text). Lenient where it costs
 * nothing (`who` may be missing), strict where a wrong guess would serve or hide an image.
 */
export function parseRecord (value: unknown): Parsed<PurgeRecord> {
  let document = value
  if (typeof value === 'string') {
    try {
      document = JSON.parse(value)
    } catch {
      return { ok: false, reason: 'not valid JSON' }
    }
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return { ok: false, reason: 'must be a JSON object' }
  const { purgeId, at, takedown, who } = document as Record<string, unknown>
  if (typeof purgeId !== 'string' || !PURGE_ID.test(purgeId)) return { ok: false, reason: 'purgeId must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", "-"' }
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return { ok: false, reason: 'at must be an ISO 8601 time' }
  if (typeof takedown !== 'boolean') return { ok: false, reason: 'takedown must be true or false' }
  return { ok: true, value: { purgeId, at, takedown, who: typeof who === 'string' ? who : 'unknown' } }
}
