import fs from 'node:fs'
import path from 'node:path'
import { DeliveryError } from '../errors.ts'
import { bucketKey, type BucketLogic, type BucketRef, type LogicProvider } from './bucket-logic.ts'
import { validateDocument } from './schemas.ts'

interface LogicFile {
  buckets: Record<string, BucketLogic>
  aliases?: Record<string, BucketRef>
  watermarks?: Record<string, string>
}

export class LogicFileError extends Error {
  override name = 'LogicFileError'
}

/**
 * Bucket logic from one JSON file (`LOGIC_SOURCE=file`, SPEC §4). The file is read and validated
 * once at start-up: a broken file stops the start with a message naming the bad path.
 */
export function createFileLogic (file: string): LogicProvider {
  const document = readLogicFile(file)
  const patterns = Object.entries(document.buckets).map(([key, logic]) => ({ parts: key.split('/'), logic }))
  const watermarkBytes = new Map<string, Promise<Buffer>>()

  function findLogic (bucket: BucketRef): BucketLogic | null {
    const wanted = [bucket.tenant, bucket.domain, bucket.bucket]
    let best: { score: number, logic: BucketLogic } | null = null
    for (const { parts, logic } of patterns) {
      // Exact parts outrank wildcards, and the tenant outranks the domain, which outranks the bucket.
      let score = 0
      let matches = true
      parts.forEach((part, index) => {
        if (part === wanted[index]) score += 4 >> index
        else if (part !== '*') matches = false
      })
      if (matches && (best === null || score > best.score)) best = { score, logic }
    }
    return best?.logic ?? null
  }

  return {
    getBucketLogic: async (bucket) => findLogic(bucket),
    resolveAlias: async (alias) => Object.hasOwn(document.aliases ?? {}, alias) ? document.aliases?.[alias] ?? null : null,
    async getWatermark (bucket) {
      const key = bucketKey(bucket)
      const relative = document.watermarks?.[key] ?? document.watermarks?.['*/*/*']
      if (relative === undefined) return null
      let bytes = watermarkBytes.get(key)
      if (bytes === undefined) {
        bytes = fs.promises.readFile(path.resolve(path.dirname(file), relative))
        watermarkBytes.set(key, bytes)
      }
      try {
        return await bytes
      } catch (error) {
        watermarkBytes.delete(key)
        throw new DeliveryError('UPSTREAM_ERROR', 'The bucket\'s watermark cannot be read', { cause: error })
      }
    }
  }
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
