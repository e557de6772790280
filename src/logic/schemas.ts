import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { GRAVITIES } from '../transform/transformation.ts'
import { transformationJsonSchema } from '../transform/parameters.ts'
import { AD_HOC_POLICIES } from './bucket-logic.ts'

/**
 * JSON Schemas of the documents the service reads (SPEC §4). The files in `schemas/` are
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
      cacheControl: { type: ['string', 'null'], maxLength: 256 },
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

const ajv = new Ajv({ allErrors: true, strict: true })
for (const schema of Object.values(SCHEMAS)) ajv.addSchema(schema)
const validators = new Map<SchemaName, ValidateFunction>(
  (Object.keys(SCHEMAS) as SchemaName[]).map((name) => [name, ajv.getSchema(`${name}.json`) as ValidateFunction])
)

/** Validates a document; an empty list means valid. Reports every violation, not just the first. */
export function validateDocument (name: SchemaName, document: unknown): SchemaViolation[] {
  const validate = validators.get(name)
  if (validate === undefined) throw new Error(`unknown schema ${name}`)
  if (validate(document)) return []
  return (validate.errors ?? []).map(toViolation)
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
