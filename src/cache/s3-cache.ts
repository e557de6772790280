import { createHash } from 'node:crypto'
import { addAbortSignal, type Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { Logger } from 'pino'
import type { CachedImage, ImageCache } from './image-cache.ts'

export type S3CacheErrorKind = 'get' | 'set' | 'set_dropped'

export interface S3CacheOptions {
  client: S3Client
  /** `CACHE_S3_BUCKET` */
  bucket: string
  /** `CACHE_S3_PREFIX` */
  prefix: string
  logger: Logger
  /** Called once per degraded operation (a metric hook); the user never sees these failures. */
  onError?: (kind: S3CacheErrorKind) => void
  /** A lookup slower than this is a miss: transforming again is cheaper than waiting. */
  getTimeoutMs?: number
  putTimeoutMs?: number
  /** Uploads in flight beyond which new ones are dropped, so a slow bucket cannot pile up outputs in memory. */
  maxPendingPuts?: number
}

export interface S3Cache extends ImageCache {
  /** Resolves once every upload started so far has finished (shutdown, tests). */
  flush: () => Promise<void>
}

/** Object metadata (`x-amz-meta-*`); Content-Type travels as the object's own header. */
const META_ETAG = 'etag'
const META_LAST_MODIFIED = 'source-last-modified'
const META_ANIMATION = 'animation'
const FIRST_FRAME = 'first-frame'

/**
 * The shared tier of transformed images (`CACHE_S3_BUCKET`): what one instance transformed, the
 * others serve. Keys already carry the source version and the transformation (cache-key.ts), so
 * objects are immutable and a replaced original simply never asks for the old ones again.
 */
export function createS3Cache (options: S3CacheOptions): S3Cache {
  const { client, bucket, prefix, logger } = options
  const getTimeoutMs = options.getTimeoutMs ?? 1000
  const putTimeoutMs = options.putTimeoutMs ?? 10000
  const maxPendingPuts = options.maxPendingPuts ?? 64
  const pending = new Set<Promise<void>>()

  function degrade (kind: S3CacheErrorKind, key: string, error: unknown): void {
    logger.warn({ err: error, cacheKey: key, bucket }, `Shared image cache ${kind} failed; serving without it`)
    options.onError?.(kind)
  }

  async function get (key: string): Promise<CachedImage | undefined> {
    try {
      const signal = AbortSignal.timeout(getTimeoutMs)
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + key }), { abortSignal: signal })
      // The SDK's abort stops at the response headers; the body must respect the same deadline.
      const bytes = await buffer(addAbortSignal(signal, object.Body as Readable))
      const metadata = object.Metadata ?? {}
      const lastModified = new Date(metadata[META_LAST_MODIFIED] ?? Number.NaN)
      // An object written by something else under our prefix, or cut short, is not served.
      if (object.ContentType === undefined || Number.isNaN(lastModified.getTime()) ||
          metadata[META_ETAG] !== key || bytes.length !== object.ContentLength) {
        degrade('get', key, new Error('Cached object is incomplete or not ours'))
        return undefined
      }
      return { bytes, contentType: object.ContentType, lastModified, ...(metadata[META_ANIMATION] === FIRST_FRAME ? { firstFrameOnly: true } : {}) }
    } catch (error) {
      if ((error as { name?: string }).name !== 'NoSuchKey') degrade('get', key, error)
      return undefined
    }
  }

  async function put (key: string, image: CachedImage): Promise<void> {
    try {
      // One PutObject of the whole buffer: S3 makes an object visible only once complete, and
      // Content-MD5 makes it refuse bytes damaged on the way.
      await client.send(new PutObjectCommand({
        Bucket: bucket,
        Key: prefix + key,
        Body: image.bytes,
        ContentLength: image.bytes.length,
        ContentType: image.contentType,
        ContentMD5: createHash('md5').update(image.bytes).digest('base64'),
        Metadata: {
          [META_ETAG]: key,
          [META_LAST_MODIFIED]: image.lastModified.toISOString(),
          ...(image.firstFrameOnly === true ? { [META_ANIMATION]: FIRST_FRAME } : {})
        }
      }), { abortSignal: AbortSignal.timeout(putTimeoutMs) })
    } catch (error) {
      degrade('set', key, error)
    }
  }

  function set (key: string, image: CachedImage): void {
    if (pending.size >= maxPendingPuts) {
      degrade('set_dropped', key, new Error(`${pending.size} uploads already in flight`))
      return
    }
    // setImmediate runs after the pending response write, so the upload never competes with it.
    const upload = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => { await put(key, image) })
      .finally(() => { pending.delete(upload) })
    pending.add(upload)
  }

  async function flush (): Promise<void> {
    await Promise.all([...pending])
  }

  return { get, set, flush }
}
