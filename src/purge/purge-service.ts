import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { BucketRef } from '../logic/bucket-logic.ts'
import { imageIdProblem, isPathPart } from '../names.ts'
import { cdnPaths } from './paths.ts'
import { PURGE_KEY_PREFIX, recordKey, scopeName, type PurgeRecord, type PurgeScope } from './records.ts'
import type { PurgeRegistry } from './registry.ts'

/** A CDN in front of the service that can drop cached paths (CloudFront today). */
export interface Cdn {
  provider: string
  /** Starts an invalidation; `reference` makes a retried call idempotent (CloudFront's CallerReference). */
  invalidate: (paths: readonly string[], reference: string) => Promise<{ invalidationId: string }>
}

/** The shared dynamic-configuration source, which carries purges to every instance. */
export interface PurgePublisher {
  write: (key: string, value: unknown) => Promise<void>
}

export interface PurgeRequest {
  scope: PurgeScope
  /** true: take down, false: lift a takedown, null: keep the scope's current takedown state. */
  takedown: boolean | null
}

export interface PurgeAnswer {
  purgeId: string
  scope: string
  takedown: boolean
  paths: string[]
  cdn: { provider: string, invalidationId: string | null, error?: { code: string, message: string } }
}

export type PurgeOutcome =
  | { status: 202, answer: PurgeAnswer }
  | { status: 400 | 503, code: 'INVALID_REQUEST' | 'PURGE_NOT_PUBLISHED', message: string }

export interface PurgeServiceOptions {
  registry: PurgeRegistry
  /** The aliases the logic source knows for a bucket (their routes are purged too). */
  aliasesOf: (bucket: BucketRef) => Promise<string[]>
  cdn: Cdn | null
  logger: Logger
  /** Counts the purge (`purge.count`, tag `tenant`). */
  onPurged?: (tenant: string) => void
  newId?: () => string
  now?: () => Date
}

export interface PurgeService {
  /** Validates, records, publishes, invalidates the CDN, writes the audit line and counts. */
  purge: (body: unknown, who: string) => Promise<PurgeOutcome>
  /** Where purges go: the dynamic source, or null for this instance only (DYNAMIC_CONFIG_SOURCE=none). */
  publishThrough: (publisher: PurgePublisher | null) => void
  /** The `purge:` records of each source snapshot, for `startDynamicSource`. */
  records: { prefix: string, apply: (values: Readonly<Record<string, unknown>>) => void }
}

const FIELDS = new Set(['tenant', 'domain', 'bucket', 'imageId', 'takedown'])

/** `POST /admin/purge` bodies: every problem is the caller's, so each message names the field. */
export function parsePurgeRequest (body: unknown): { ok: true, request: PurgeRequest } | { ok: false, problem: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, problem: 'the body must be a JSON object' }
  const fields = body as Record<string, unknown>
  const unknown = Object.keys(fields).find((name) => !FIELDS.has(name))
  if (unknown !== undefined) return { ok: false, problem: `unknown field '${unknown}'` }
  for (const name of ['tenant', 'domain', 'bucket'] as const) {
    if (fields[name] === undefined) return { ok: false, problem: `'${name}' is required` }
    if (!isPathPart(fields[name])) return { ok: false, problem: `'${name}' must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", "-", not starting with "."` }
  }
  const { tenant, domain, bucket, imageId, takedown } = fields as { tenant: string, domain: string, bucket: string, imageId?: unknown, takedown?: unknown }
  if (imageId !== undefined && imageId !== null) {
    if (typeof imageId !== 'string') return { ok: false, problem: '\'imageId\' must be a string' }
    const problem = imageIdProblem(imageId)
    if (problem !== null) return { ok: false, problem: `'imageId': ${problem}` }
  }
  if (takedown !== undefined && typeof takedown !== 'boolean') return { ok: false, problem: '\'takedown\' must be true or false' }
  return {
    ok: true,
    request: { scope: { bucket: { tenant, domain, bucket }, imageId: typeof imageId === 'string' ? imageId : null }, takedown: takedown ?? null }
  }
}

/** Purges and takedowns, from the admin port's request to every instance and the CDN. */
export function createPurgeService (options: PurgeServiceOptions): PurgeService {
  const { registry } = options
  const logger = options.logger.child({ component: 'purge' })
  const newId = options.newId ?? randomUUID
  const now = options.now ?? (() => new Date())
  let publisher: PurgePublisher | null = null

  async function pathsOf (scope: PurgeScope): Promise<string[]> {
    try {
      return cdnPaths(scope, await options.aliasesOf(scope.bucket))
    } catch (error) {
      // The bucket route is still purged; the alias routes then expire with their max-age.
      logger.warn({ err: error, scope: scopeName(scope) }, 'cannot list the aliases of the bucket; purging the bucket routes only')
      return cdnPaths(scope, [])
    }
  }

  async function invalidate (paths: string[], purgeId: string): Promise<PurgeAnswer['cdn']> {
    const { cdn } = options
    if (cdn === null) return { provider: 'none', invalidationId: null }
    try {
      const { invalidationId } = await cdn.invalidate(paths, purgeId)
      return { provider: cdn.provider, invalidationId }
    } catch (error) {
      // The purge already holds in the service; the operator retries only the CDN part.
      const code = error instanceof Error ? error.name : 'Error'
      const message = error instanceof Error ? error.message : String(error)
      logger.error({ err: error, purgeId, paths }, 'the CDN invalidation failed; the purge holds in the service')
      return { provider: cdn.provider, invalidationId: null, error: { code, message } }
    }
  }

  return {
    publishThrough (next) { publisher = next },
    records: { prefix: PURGE_KEY_PREFIX, apply: (values) => { registry.applySnapshot(values) } },
    async purge (body, who) {
      const parsed = parsePurgeRequest(body)
      if (!parsed.ok) return { status: 400, code: 'INVALID_REQUEST', message: parsed.problem }
      const { scope, takedown } = parsed.request
      const name = scopeName(scope)
      const record: PurgeRecord = {
        purgeId: newId(),
        at: now().toISOString(),
        // A plain purge of a taken-down image must not publish it again: only `false` lifts.
        takedown: takedown ?? registry.recordOf(scope)?.takedown ?? false,
        who
      }
      try {
        await publisher?.write(recordKey(scope), record)
      } catch (error) {
        logger.error({ err: error, scope: name }, 'publishing the purge failed; nothing was purged')
        return { status: 503, code: 'PURGE_NOT_PUBLISHED', message: `The purge could not be published to the dynamic configuration source: ${(error as Error).message}` }
      }
      registry.applyLocal(scope, record)
      const paths = await pathsOf(scope)
      const cdn = await invalidate(paths, record.purgeId)
      logger.info({ audit: true, purgeId: record.purgeId, who, scope: name, takedown: record.takedown, at: record.at, paths, cdn },
        `purge of ${name} by ${who}${record.takedown ? ' (taken down)' : ''}`)
      options.onPurged?.(scope.bucket.tenant)
      return { status: 202, answer: { purgeId: record.purgeId, scope: name, takedown: record.takedown, paths, cdn } }
    }
  }
}
