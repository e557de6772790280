import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { HEADER_VALUE_PATTERN } from '../config/schema.ts'
import { GRAVITIES } from '../transform/transformation.ts'
import { transformationJsonSchema } from '../transform/parameters.ts'
import { AD_HOC_POLICIES } from './bucket-logic.ts'

/**
 * JSON Schemas of the documents the service reads. The files in `schemas/` are
 * generated from these (`npm run schemas`) and a test keeps them in step.
 */
const SEGMENT_PATTERN = '^[A-Za-z0-9._-]+$'
/** `<tenant>/<domain>/<bucket>`, each part a name or `*`. */
const BUCKET_PATTERN = '^([A-Za-z0-9._-]+|\\*)/([A-Za-z0-9._-]+|\\*)/([A-Za-z0-9._-]+|\\*)$'

export const SCHEMAS = {
  transformation: transformationJsonSchema(),
  'bucket-logic': {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'bucket-logic.json',
    title: 'BucketLogic',
    description: 'Named rules, default rule, watermark, cache policy and ad-hoc policy of one bucket.',
    type: 'object',
    additionalProperties: false,
    properties: {
      rules: {
        type: 'object',
        propertyNames: { pattern: '^[A-Za-z0-9._-]{1,128}$' },
        additionalProperties: { $ref: 'transformation.json' }
      },
      defaultRule: {
        anyOf: [{ type: 'null' }, { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' }, { $ref: 'transformation.json' }]
      },
      watermark: {
        anyOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            properties: {
              required: { type: 'boolean' },
              position: { enum: [...GRAVITIES] },
              opacity: { type: 'number', minimum: 0, maximum: 1 },
              widthRatio: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
              margin: { type: 'number', minimum: 0, maximum: 0.5 }
            }
          }
        ]
      },
      cacheControl: { type: ['string', 'null'], maxLength: 256, pattern: HEADER_VALUE_PATTERN },
      adHoc: { enum: [...AD_HOC_POLICIES] }
    }
  },
  'logic-file': {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'logic-file.json',
    title: 'LogicFile',
    description: 'The logic of every bucket, the aliases and the watermarks for LOGIC_SOURCE=file.',
    type: 'object',
    additionalProperties: false,
    required: ['buckets'],
    properties: {
      buckets: {
        type: 'object',
        propertyNames: { pattern: BUCKET_PATTERN },
        additionalProperties: { $ref: 'bucket-logic.json' }
      },
      aliases: {
        type: 'object',
        propertyNames: { pattern: SEGMENT_PATTERN },
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['tenant', 'domain', 'bucket'],
          properties: {
            tenant: { type: 'string', pattern: SEGMENT_PATTERN },
            domain: { type: 'string', pattern: SEGMENT_PATTERN },
            bucket: { type: 'string', pattern: SEGMENT_PATTERN }
          }
        }
      },
      watermarks: {
        type: 'object',
        propertyNames: { pattern: BUCKET_PATTERN },
        additionalProperties: { type: 'string', minLength: 1 }
      }
    }
  }
} as const

export type SchemaName = keyof typeof SCHEMAS

export interface SchemaViolation {
  /** JSON pointer into the document, e.g. `/rules/thumb/width`. */
  path: string
  message: string
}

/** How much of a failed validation is formatted; the rest is dropped unread. */
export interface ViolationLimits {
  maxErrors: number
  /** Longest path or message in characters: one long property name is repeated in many of them. */
  maxLength: number
}

/** What `POST /schema/validate` lists: its answer stays small whatever the document. */
export const LISTED_VIOLATIONS: ViolationLimits = { maxErrors: 100, maxLength: 512 }

/**
 * The schema with every `$ref` replaced by the schema it names. ajv compiles a referenced schema
 * that has references itself into a function of its own and concatenates that function's errors
 * into a new array at each call: quadratic, 2 s for a 256 KiB logic file with a bad bucket per line.
 */
function inlined (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(inlined)
  if (typeof schema !== 'object' || schema === null) return schema
  const { $ref, ...rest } = schema as { $ref?: string }
  if ($ref === undefined) return Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, inlined(value)]))
  const name = $ref.replace(/\.json$/, '')
  if (!isSchemaName(name)) throw new Error(`unknown schema reference ${$ref}`)
  const { $id, $schema, ...referenced } = SCHEMAS[name] as Record<string, unknown>
  return inlined(referenced)
}

const ajv = new Ajv({ allErrors: true, strict: true })
const validators = new Map<SchemaName, ValidateFunction>(
  (Object.keys(SCHEMAS) as SchemaName[]).map((name) => [name, ajv.compile(inlined(SCHEMAS[name]) as object)])
)

/**
 * Validates a document; an empty list means valid. Reports every violation, not just the first,
 * unless `limits` says how many to list.
 */
export function validateDocument (name: SchemaName, document: unknown, limits?: ViolationLimits): SchemaViolation[] {
  const validate = validators.get(name)
  if (validate === undefined) throw new Error(`unknown schema ${name}`)
  if (validate(document)) return []
  const errors = validate.errors ?? []
  if (limits === undefined) return errors.map(toViolation)
  return errors.slice(0, limits.maxErrors).map((error) => {
    const { path, message } = toViolation(error)
    return { path: shorten(path, limits.maxLength), message: shorten(message, limits.maxLength) }
  })
}

function shorten (text: string, maxLength: number): string {
  return text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…`
}

function toViolation (error: ErrorObject): SchemaViolation {
  const extra = error.keyword === 'additionalProperties'
    ? `: '${String((error.params as { additionalProperty: string }).additionalProperty)}'`
    : ''
  return { path: error.instancePath === '' ? '/' : error.instancePath, message: `${error.message ?? 'is invalid'}${extra}` }
}

export function isSchemaName (name: string): name is SchemaName {
  return Object.hasOwn(SCHEMAS, name)
}

/** A text checked against a schema: not JSON, or JSON with its violations (none when valid). */
export type TextCheck = { json: false } | { json: true, violations: SchemaViolation[] }

/** Parses `text` and validates it: the work of the validation thread. */
export function checkText (name: SchemaName, text: string, limits: ViolationLimits): TextCheck {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    return { json: false }
  }
  return { json: true, violations: validateDocument(name, document, limits) }
}

export interface DocumentValidator {
  check: (name: SchemaName, text: string) => Promise<TextCheck>
  /** Stops the thread; checks still waiting are rejected. */
  close: () => Promise<void>
}

const WORKER_ROLE = 'delivery-images:schema-validator'

interface CheckRequest { id: number, name: SchemaName, text: string, limits: ViolationLimits }
interface Pending { resolve: (result: TextCheck) => void, reject: (error: Error) => void }

/**
 * Checks texts in a worker thread, started at the first check and again after a failure. Parsing
 * and validating 256 KiB of JSON with thousands of violations takes tens of milliseconds or more:
 * on the main thread that would stall every image request meanwhile.
 */
export function createDocumentValidator (limits: ViolationLimits = LISTED_VIOLATIONS): DocumentValidator {
  let thread: { worker: Worker, pending: Map<number, Pending> } | null = null
  let nextId = 0

  function start (): NonNullable<typeof thread> {
    // No execArgv: the process's --import (the tracer) has no business in this thread.
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: WORKER_ROLE }, execArgv: [] })
    const started = { worker, pending: new Map<number, Pending>() }
    const fail = (error: Error): void => {
      if (thread === started) thread = null
      for (const { reject } of started.pending.values()) reject(error)
      started.pending.clear()
    }
    worker.on('message', ({ id, result }: { id: number, result: TextCheck }) => {
      started.pending.get(id)?.resolve(result)
      started.pending.delete(id)
      // An idle thread must not keep the process alive.
      if (started.pending.size === 0) worker.unref()
    })
    worker.on('error', fail)
    worker.on('exit', (code) => { fail(new Error(`the schema validation thread exited with code ${code}`)) })
    return started
  }

  return {
    async check (name, text) {
      thread ??= start()
      const { worker, pending } = thread
      const id = nextId++
      return await new Promise<TextCheck>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.ref()
        worker.postMessage({ id, name, text, limits } satisfies CheckRequest)
      })
    },
    async close () {
      const closing = thread
      thread = null
      await closing?.worker.terminate()
    }
  }
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === WORKER_ROLE) {
  const port = parentPort
  port?.on('message', ({ id, name, text, limits }: CheckRequest) => {
    port.postMessage({ id, result: checkText(name, text, limits) })
  })
}
