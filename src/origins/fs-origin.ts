import fs from 'node:fs/promises'
import path from 'node:path'
import { DeliveryError } from '../errors.ts'
import { checkOriginKey, originalChanged, sourceTooLarge, type Origin, type OriginRequest, type Source, type SourceVersion } from './origin.ts'

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG'])

/** Originals in a local folder (`ORIGIN=fs`), the embedded default. */
export function createFsOrigin (root: string): Origin {
  const absoluteRoot = path.resolve(root)

  /** The file of a key, which must lie inside its own bucket's folder (a second line behind checkOriginKey). */
  function resolve (key: string): string {
    const { bucketPrefix, imageId } = checkOriginKey(key)
    const bucketDir = path.resolve(absoluteRoot, bucketPrefix)
    const file = path.resolve(bucketDir, imageId)
    if (!file.startsWith(bucketDir + path.sep)) throw new DeliveryError('IMAGE_NOT_FOUND')
    return file
  }

  async function stat (key: string, request: OriginRequest): Promise<SourceVersion> {
    const file = resolve(key)
    let stats
    try {
      stats = await fs.stat(file)
    } catch (error) {
      throw translate(error)
    }
    if (!stats.isFile()) throw new DeliveryError('IMAGE_NOT_FOUND')
    if (stats.size > request.maxBytes) throw sourceTooLarge(stats.size, request.maxBytes)
    // ctime too: a copy that keeps the mtime (rsync -t, cp -p, tar) still changes it.
    const tag = [stats.size, Math.trunc(stats.mtimeMs), Math.trunc(stats.ctimeMs)].map((n) => n.toString(36)).join('-')
    return { tag, lastModified: stats.mtime, size: stats.size }
  }

  async function get (key: string, request: OriginRequest): Promise<Source> {
    // Versions are trusted for a while without a stat, so a read checks that the file
    // is still the version the caller's cache key was built from, as S3's If-Match does. The
    // decoder then reads the file itself (see Source.input).
    const file = resolve(key)
    const version = await stat(key, request)
    if (request.expectedVersion !== undefined && request.expectedVersion.tag !== version.tag) {
      throw originalChanged()
    }
    return { input: file, size: version.size, version }
  }

  return { stat, get }
}

function translate (error: unknown): DeliveryError {
  const code = (error as NodeJS.ErrnoException).code
  if (code !== undefined && MISSING.has(code)) return new DeliveryError('IMAGE_NOT_FOUND')
  if ((error as Error).name === 'AbortError') return new DeliveryError('UPSTREAM_TIMEOUT', 'Reading the original was aborted', { cause: error })
  return new DeliveryError('UPSTREAM_ERROR', 'Could not read the original', { cause: error })
}
