import fs from 'node:fs/promises'
import { DeliveryError } from '../errors.ts'
import { imageIdProblem, isPathPart } from '../names.ts'

/** Identifies one version of an original; changes whenever the bytes change. */
export interface SourceVersion {
  /** Opaque version token (file size + mtime, or the S3 ETag). */
  tag: string
  lastModified: Date
  size: number
}

export interface Source {
  /**
   * The original: its bytes, or the path of a local file. A path lets libvips read the file
   * itself, so a large original never becomes a short-lived multi-megabyte buffer in the JS
   * heap (each one costs a garbage collection; under load that was a fifth of the CPU).
   */
  input: Buffer | string
  size: number
  version: SourceVersion
}

export interface OriginRequest {
  /** Originals larger than this are refused with SOURCE_TOO_LARGE, without reading them whole. */
  maxBytes: number
  signal?: AbortSignal
  requestId?: string
  /** The version the caller built its cache key from: a different one must not be read under that key. */
  expectedVersion?: SourceVersion
}

/**
 * Where originals live. Keys are `<tenant>/<domain>/<bucket>/<imageId>`.
 * Implementations translate their failures into DeliveryErrors: a missing key is
 * IMAGE_NOT_FOUND, an unreachable store UPSTREAM_ERROR or UPSTREAM_TIMEOUT.
 */
export interface Origin {
  /** The current version of an original, without reading its bytes. */
  stat: (key: string, request: OriginRequest) => Promise<SourceVersion>
  get: (key: string, request: OriginRequest) => Promise<Source>
}

/** The original's bytes, reading the file when the origin gave a path. */
export async function readSource (source: Source): Promise<Buffer> {
  return typeof source.input === 'string' ? await fs.readFile(source.input) : source.input
}

export function originKey (bucket: { tenant: string, domain: string, bucket: string }, imageId: string): string {
  return `${bucket.tenant}/${bucket.domain}/${bucket.bucket}/${imageId}`
}

/** An origin key split into the bucket directory and the image id inside it. */
export interface CheckedKey {
  /** `<tenant>/<domain>/<bucket>`: nothing may be read outside it. */
  bucketPrefix: string
  imageId: string
}

/**
 * Every origin checks its keys itself: whatever a caller passes, three plain path
 * parts and an image id without dot segments, so a key can never name another bucket's original
 * (in a folder, or through an HTTP client that collapses `.` segments). A bad key does not exist.
 */
export function checkOriginKey (key: string): CheckedKey {
  const parts = key.split('/')
  const bucketParts = parts.slice(0, 3)
  const imageId = parts.slice(3).join('/')
  if (parts.length < 4 || !bucketParts.every(isPathPart) || imageIdProblem(imageId) !== null) {
    throw new DeliveryError('IMAGE_NOT_FOUND')
  }
  return { bucketPrefix: bucketParts.join('/'), imageId }
}

/** The cause of an UPSTREAM_ERROR that only means "replaced since its version was checked". */
export class OriginalChanged extends Error {
  override name = 'OriginalChanged'
}

/** A read found another version than the one the caller's cache key was built from (S3 412 to If-Match). */
export function originalChanged (cause?: unknown): DeliveryError {
  return new DeliveryError('UPSTREAM_ERROR', 'The original changed while it was being read', { cause: new OriginalChanged('version mismatch', { cause }) })
}

/**
 * The one SOURCE_TOO_LARGE of every origin. `atLeast` when the origin stopped reading at the limit
 * and so knows only that the original is larger.
 */
export function sourceTooLarge (size: number, max: number, atLeast = false): DeliveryError {
  return new DeliveryError('SOURCE_TOO_LARGE', `Source image is ${atLeast ? 'more than ' : ''}${size} bytes; the limit is ${max}`)
}
