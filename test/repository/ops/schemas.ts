import fs from 'node:fs'
import path from 'node:path'
import { Ajv } from 'ajv'

export const ROOT = path.resolve(import.meta.dirname, '../../..')

/** Validates `document` against infra/schemas/<name>; returns ajv's errors as readable lines. */
export function schemaProblems (name: string, document: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false })
  const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'infra/schemas', name), 'utf8')) as object)
  if (validate(document)) return []
  return (validate.errors ?? []).map((error) => `${error.instancePath === '' ? '/' : error.instancePath}: ${error.message ?? 'invalid'}`)
}

export function readJson (relative: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(ROOT, relative), 'utf8'))
}
