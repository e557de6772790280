import { LRUCache } from 'lru-cache'
import { isDeliveryError, type DeliveryError } from '../errors.ts'
import { createSingleFlight } from '../resilience/single-flight.ts'
import { OriginalChanged, type Origin, type OriginRequest, type Source, type SourceVersion } from './origin.ts'

export interface VersionedOriginOptions {
  /** `ORIGIN_VERSION_TTL_MS`: how long a known version is trusted without asking the origin. */
  ttlMs: () => number
  /** `ORIGIN_STALE_IF_ERROR_MS`: how recently a version must have been seen to be served while the origin fails. */
  staleIfErrorMs: () => number
  /** Originals whose version is remembered. */
  maxEntries?: number
  now?: () => number
}

/** What is known of an original's current version. */
export interface KnownVersion {
  version: SourceVersion
  /**
   * Set when the origin is failing and the version is the last one seen: cached outputs of it may
   * be served (`X-Cache: STALE`), anything that needs the original's bytes must fail with this error.
   */
  failure: DeliveryError | null
}

export interface VersionedOrigin {
  /** The current version, from memory while trusted: a cache hit or a 304 then costs no origin call. */
  version: (key: string, request: OriginRequest) => Promise<KnownVersion>
  /** The original's bytes at that version; concurrent reads of one version share one origin read. */
  get: (key: string, version: SourceVersion, request: OriginRequest) => Promise<Source>
  /**
   * Forgets the versions of `scope` (an original's key) and of every key under it as a folder
   * (`t/d/b` is a whole bucket): after a purge the next request asks the origin, so a replaced
   * original is read at once instead of after the trust TTL.
   */
  forget: (scope: string) => void
}

interface Seen {
  version: SourceVersion
  checkedAt: number
}

/** Failures of the origin itself (not answers about the original): a known version outlives them. */
const ORIGIN_FAILURES = new Set(['UPSTREAM_ERROR', 'UPSTREAM_TIMEOUT', 'DEPENDENCY_UNAVAILABLE'])

/**
 * The original is gone or was replaced: its remembered version must not be served, stale or not.
 * (A departed client, a size refusal or a failing storage say nothing about the version.)
 */
function versionIsGone (error: unknown): boolean {
  return isDeliveryError(error) && (error.code === 'IMAGE_NOT_FOUND' || error.cause instanceof OriginalChanged)
}

/**
 * Cache hits that never wait for the origin, over any origin: versions trusted for a TTL, one re-check at a time per original
 * (shared by concurrent requests), the last version served while the origin fails, and one read
 * of an original shared by concurrent misses of its different variants.
 */
export function createVersionedOrigin (origin: Origin, options: VersionedOriginOptions): VersionedOrigin {
  const now = options.now ?? Date.now
  const seen = new LRUCache<string, Seen>({ max: options.maxEntries ?? 100_000 })
  const checks = createSingleFlight<SourceVersion>()
  const reads = createSingleFlight<Source>()

  async function check (key: string, request: OriginRequest): Promise<SourceVersion> {
    // One check for every concurrent request; it is cancelled only once all of them have left.
    const { signal, ...shared } = request
    return await checks.run(key, async (checkSignal) => {
      const version = await origin.stat(key, { ...shared, signal: checkSignal })
      seen.set(key, { version, checkedAt: now() })
      return version
    }, signal)
  }

  return {
    async version (key, request) {
      const known = seen.get(key)
      if (known !== undefined && now() - known.checkedAt < options.ttlMs() && known.version.size <= request.maxBytes) {
        return { version: known.version, failure: null }
      }
      try {
        return { version: await check(key, request), failure: null }
      } catch (error) {
        const stale = seen.get(key)
        if (isDeliveryError(error) && ORIGIN_FAILURES.has(error.code) && stale !== undefined &&
            now() - stale.checkedAt < options.staleIfErrorMs()) {
          return { version: stale.version, failure: error }
        }
        if (versionIsGone(error)) seen.delete(key)
        throw error
      }
    },
    async get (key, version, request) {
      const { signal, ...shared } = request
      try {
        return await reads.run(`${key}\n${version.tag}`, async (readSignal) =>
          await origin.get(key, { ...shared, expectedVersion: version, signal: readSignal }), signal)
      } catch (error) {
        // The next request asks the origin again.
        if (versionIsGone(error)) seen.delete(key)
        throw error
      }
    },
    forget (scope) {
      const folder = `${scope}/`
      // A purge is rare next to requests: a walk over the remembered keys is cheap enough.
      for (const key of [...seen.keys()]) if (key === scope || key.startsWith(folder)) seen.delete(key)
    }
  }
}
