import {
  ASPECT_RATIO_PATTERN, FITS, FLIPS, parseAspectRatio, POSITIONS, RANGES, REQUESTED_FORMATS, ROTATIONS,
  type Transformation, type TransformationField
} from './transformation.ts'

/**
 * The ad-hoc query parameters as data: the query name, the transformation field it
 * sets, how a query value is read, and the JSON Schema of the field. The query parser and the
 * served JSON Schema are both derived from this table, so their ranges cannot disagree.
 */
export interface Parameter {
  query: string
  field: TransformationField
  /** Reads a decoded query value; returns undefined when the value is not acceptable. */
  read: (value: string, context: ReadContext) => unknown
  schema: Record<string, unknown>
}

export interface ReadContext {
  /** Current `LIMITS_MAX_OUTPUT_DIMENSION`. */
  maxOutputDimension: number
}

const INTEGER = /^\d{1,6}$/
const DECIMAL = /^\d{1,6}(\.\d{1,6})?$/
/** `1.5`, `2.25`; more decimals would only mint new cache keys for the same output. */
const DPR = /^\d(\.\d{1,2})?$/
const HEX_COLOUR = /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/

function readInteger (value: string, min: number, max: number): number | undefined {
  if (!INTEGER.test(value)) return undefined
  const n = Number(value)
  return n >= min && n <= max ? n : undefined
}

function readDecimal (value: string, min: number, max: number): number | undefined {
  if (!DECIMAL.test(value)) return undefined
  const n = Number(value)
  return n >= min && n <= max ? n : undefined
}

function readBoolean (value: string): boolean | undefined {
  return value === '1' ? true : value === '0' ? false : undefined
}

function readOneOf<T extends string | number> (values: readonly T[], value: string): T | undefined {
  return values.find((candidate) => String(candidate) === value)
}

const booleanSchema = { type: 'boolean' }

const dimension = (query: string, field: 'width' | 'height'): Parameter => ({
  query,
  field,
  read: (value, context) => readInteger(value, RANGES.dimension.min, Math.min(RANGES.dimension.max, context.maxOutputDimension)),
  schema: { type: 'integer', minimum: RANGES.dimension.min, maximum: RANGES.dimension.max }
})

const flag = (query: string, field: TransformationField): Parameter => ({
  query, field, read: readBoolean, schema: booleanSchema
})

export const PARAMETERS: readonly Parameter[] = [
  dimension('w', 'width'),
  dimension('h', 'height'),
  {
    query: 'dpr',
    field: 'dpr',
    read: (value) => DPR.test(value) ? readDecimal(value, RANGES.dpr.min, RANGES.dpr.max) : undefined,
    schema: { type: 'number', minimum: RANGES.dpr.min, maximum: RANGES.dpr.max }
  },
  { query: 'fit', field: 'fit', read: (value) => readOneOf(FITS, value), schema: { enum: [...FITS] } },
  { query: 'pos', field: 'position', read: (value) => readOneOf(POSITIONS, value), schema: { enum: [...POSITIONS] } },
  {
    query: 'fp',
    field: 'focalPoint',
    read: (value) => {
      const parts = value.split(',')
      if (parts.length !== 2) return undefined
      const [x, y] = parts.map((part) => readDecimal(part, RANGES.focalPoint.min, RANGES.focalPoint.max))
      return x === undefined || y === undefined ? undefined : [x, y]
    },
    schema: {
      type: 'array',
      items: { type: 'number', minimum: RANGES.focalPoint.min, maximum: RANGES.focalPoint.max },
      minItems: 2,
      maxItems: 2
    }
  },
  {
    query: 'rect',
    field: 'rect',
    read: (value) => {
      const parts = value.split(',')
      if (parts.length !== 4) return undefined
      const [x, y, width, height] = parts.map((part, index) => readInteger(part, index < 2 ? RANGES.region.min : 1, RANGES.region.max))
      return x === undefined || y === undefined || width === undefined || height === undefined ? undefined : [x, y, width, height]
    },
    schema: {
      type: 'array',
      description: '[x, y, width, height] in source pixels, after auto-orientation and rotation',
      items: [
        { type: 'integer', minimum: RANGES.region.min, maximum: RANGES.region.max },
        { type: 'integer', minimum: RANGES.region.min, maximum: RANGES.region.max },
        { type: 'integer', minimum: 1, maximum: RANGES.region.max },
        { type: 'integer', minimum: 1, maximum: RANGES.region.max }
      ],
      minItems: 4,
      additionalItems: false
    }
  },
  {
    query: 'ar',
    field: 'aspectRatio',
    read: (value) => parseAspectRatio(value) === undefined ? undefined : value,
    schema: { type: 'string', pattern: ASPECT_RATIO_PATTERN }
  },
  flag('enlarge', 'enlarge'),
  { query: 'fm', field: 'format', read: (value) => readOneOf(REQUESTED_FORMATS, value), schema: { enum: [...REQUESTED_FORMATS] } },
  {
    query: 'q',
    field: 'quality',
    read: (value) => readInteger(value, RANGES.quality.min, RANGES.quality.max),
    schema: { type: 'integer', minimum: RANGES.quality.min, maximum: RANGES.quality.max }
  },
  flag('lossless', 'lossless'),
  flag('progressive', 'progressive'),
  {
    query: 'blur',
    field: 'blur',
    read: (value) => readDecimal(value, RANGES.blur.min, RANGES.blur.max),
    // 0 is accepted in JSON so that a rule can spell "no blur" explicitly.
    schema: { anyOf: [{ const: 0 }, { type: 'number', minimum: RANGES.blur.min, maximum: RANGES.blur.max }] }
  },
  flag('sharpen', 'sharpen'),
  {
    query: 'rot',
    field: 'rotate',
    read: (value) => ROTATIONS.find((angle) => String(angle) === value),
    schema: { enum: [...ROTATIONS] }
  },
  { query: 'flip', field: 'flip', read: (value) => readOneOf(FLIPS, value), schema: { enum: [...FLIPS, null] } },
  {
    query: 'bg',
    field: 'background',
    read: (value) => HEX_COLOUR.test(value) ? value : undefined,
    schema: { type: 'string', pattern: HEX_COLOUR.source }
  },
  flag('wm', 'watermark')
]

export const PARAMETER_BY_QUERY: ReadonlyMap<string, Parameter> = new Map(PARAMETERS.map((p) => [p.query, p]))

/** Parameters that may accompany a `rule`: they override the rule's values. */
export const RULE_OVERRIDES: ReadonlySet<string> = new Set(['dpr', 'fm'])

/** The JSON Schema of a transformation, derived from the parameter table. */
export function transformationJsonSchema (): Record<string, unknown> {
  const properties: Record<string, unknown> = {}
  for (const parameter of PARAMETERS) {
    const detail = typeof parameter.schema.description === 'string' ? `: ${parameter.schema.description}` : ''
    properties[parameter.field] = { ...parameter.schema, description: `query parameter \`${parameter.query}\`${detail}` }
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'transformation.json',
    title: 'Transformation',
    description: 'The JSON form of the ad-hoc transformation parameters; every field is optional.',
    type: 'object',
    additionalProperties: false,
    properties
  }
}

export type { Transformation }
