import fs from 'node:fs'
import path from 'node:path'
import { DeliveryError } from '../errors.ts'
import { bucketKey, type BucketLogic, type BucketRef, type LogicProvider } from './bucket-logic.ts'
import { validateDocument } from './schemas.ts'
import { createSingleFlight } from '../resilience/single-flight.ts'

interface LogicFile {
  buckets: Record<string, BucketLogic>
  aliases?: Record<string, BucketRef>
  watermarks?: Record<string, string>
}

export class LogicFileError extends Error {
  override name = 'LogicFileError'
}

/**
 * Bucket logic from one JSON file (`LOGIC_SOURCE=file`). The file is read and validated
 * once at start-up: a broken file stops the start with a message naming the bad path.
 */
export function createFileLogic (file: string): LogicProvider {
  const document = readLogicFile(file)
  const logicPatterns = Object.entries(document.buckets).map(([key, logic]) => ({ parts: key.split('/'), value: logic }))
  const watermarkPatterns = Object.entries(document.watermarks ?? {})
    .map(([key, relative]) => ({ parts: key.split('/'), value: path.resolve(path.dirname(file), relative) }))
  // One entry per watermark file (not per requested bucket, which the client chooses).
  const watermarkBytes = new Map<string, Buffer>()
  const reads = createSingleFlight<Buffer>()
  const tenants = new Set([
    ...Object.keys(document.buckets).map((key) => key.split('/')[0]),
    ...Object.values(document.aliases ?? {}).map((bucket) => bucket.tenant)
  ].filter((tenant) => tenant !== '*'))

  return {
    getBucketLogic: async (bucket) => mostSpecific(logicPatterns, bucket),
    isKnownTenant: (tenant) => tenants.has(tenant),
    resolveAlias: async (alias) => Object.hasOwn(document.aliases ?? {}, alias) ? document.aliases?.[alias] ?? null : null,
    aliasesOf: async (bucket) => Object.entries(document.aliases ?? {})
      .filter(([, target]) => bucketKey(target) === bucketKey(bucket))
      .map(([alias]) => alias),
    async getWatermark (bucket) {
      const watermarkFile = mostSpecific(watermarkPatterns, bucket)
      if (watermarkFile === null) return null
      const known = watermarkBytes.get(watermarkFile)
      if (known !== undefined) return known
      try {
        // A failed read is not remembered: the next request reads the file again.
        return await reads.run(watermarkFile, async () => {
          const bytes = await fs.promises.readFile(watermarkFile)
          watermarkBytes.set(watermarkFile, bytes)
          return bytes
        })
      } catch (error) {
        throw new DeliveryError('UPSTREAM_ERROR', 'The bucket\'s watermark cannot be read', { cause: error })
      }
    }
  }
}

/**
 * The value of the most specific `<tenant>/<domain>/<bucket>` pattern matching the bucket:
 * `*` matches any one part, exact parts outrank wildcards, and the tenant outranks the domain,
 * which outranks the bucket.
 */
function mostSpecific<T> (patterns: ReadonlyArray<{ parts: string[], value: T }>, bucket: BucketRef): T | null {
  const wanted = [bucket.tenant, bucket.domain, bucket.bucket]
  let best: { score: number, value: T } | null = null
  for (const { parts, value } of patterns) {
    let score = 0
    let matches = true
    parts.forEach((part, index) => {
      if (part === wanted[index]) score += 4 >> index
      else if (part !== '*') matches = false
    })
    if (matches && (best === null || score > best.score)) best = { score, value }
  }
  return best?.value ?? null
}

function readLogicFile (file: string): LogicFile {
  let document: unknown
  try {
    document = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (error) {
    throw new LogicFileError(`Logic file ${file} cannot be read: ${(error as Error).message}`)
  }
  const violations = validateDocument('logic-file', document)
  if (violations.length > 0) {
    const list = violations.map((v) => `  ${v.path}: ${v.message}`).join('\n')
    throw new LogicFileError(`Logic file ${file} is invalid:\n${list}`)
  }
  const logicFile = document as LogicFile
  for (const [key, logic] of Object.entries(logicFile.buckets)) {
    const rule = logic.defaultRule
    if (typeof rule === 'string' && logic.rules?.[rule] === undefined) {
      throw new LogicFileError(`Logic file ${file} is invalid:\n  /buckets/${key}/defaultRule: names no rule of the bucket ('${rule}')`)
    }
  }
  return logicFile
}
