import { DeliveryError } from '../errors.ts'
import { PARAMETER_BY_QUERY, RULE_OVERRIDES, type ReadContext } from '../transform/parameters.ts'
import type { Transformation } from '../transform/transformation.ts'
import type { ImageQuery } from '../delivery/image-query.ts'

const RULE_NAME = /^[A-Za-z0-9._-]{1,128}$/
/** `fm=json` asks for the info document instead of the image. */
const INFO_FORMAT = 'json'

function invalid (name: string, reason: string): DeliveryError {
  return new DeliveryError('INVALID_PARAMETER', `Parameter '${name}' ${reason}`)
}

function decode (text: string, name: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    throw invalid(name, 'is not correctly percent-encoded')
  }
}

/**
 * Parses the raw query string (everything after `?`) of an image request. The raw form is read,
 * not Fastify's parsed object, because a repeated parameter must be refused and signatures are
 * computed over the values exactly as sent.
 */
export function parseImageQuery (rawQuery: string, context: ReadContext): ImageQuery {
  const seen = new Set<string>()
  const rawPairs: Array<[string, string]> = []
  const transformation: Record<string, unknown> = {}
  let rule: string | undefined
  let signature: string | undefined
  let isAdHoc = false
  let info = false

  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue
    const separator = pair.indexOf('=')
    const rawName = separator === -1 ? pair : pair.slice(0, separator)
    const rawValue = separator === -1 ? '' : pair.slice(separator + 1)
    const name = decode(rawName, rawName)
    if (seen.has(name)) throw invalid(name, 'is given more than once')
    seen.add(name)
    const value = decode(rawValue, name)

    if (name === 's') {
      signature = value
      continue
    }
    rawPairs.push([name, rawValue])
    if (name === 'rule') {
      if (!RULE_NAME.test(value)) throw invalid(name, 'must be a rule name')
      rule = value
      continue
    }
    if (name === 'fm' && value === INFO_FORMAT) {
      info = true
      continue
    }
    const parameter = PARAMETER_BY_QUERY.get(name)
    if (parameter === undefined) throw invalid(name, 'is unknown')
    const parsed = parameter.read(value, context)
    if (parsed === undefined) throw invalid(name, `has an invalid value '${value.slice(0, 64)}'`)
    transformation[parameter.field] = parsed
    if (!RULE_OVERRIDES.has(name)) isAdHoc = true
  }

  if (rule !== undefined && isAdHoc) {
    const extra = [...seen].find((name) => name !== 'rule' && name !== 's' && !RULE_OVERRIDES.has(name)) ?? 'rule'
    throw invalid(extra, 'cannot be combined with \'rule\'')
  }
  if (transformation.aspectRatio !== undefined && transformation.width !== undefined && transformation.height !== undefined) {
    throw invalid('ar', 'cannot be combined with both \'w\' and \'h\'')
  }
  // dpr or fm alone (without a rule) are ad-hoc transformations too.
  if (rule === undefined && Object.keys(transformation).length > 0) isAdHoc = true

  const query: ImageQuery = { transformation: transformation as Transformation, isAdHoc, info, rawPairs }
  if (rule !== undefined) query.rule = rule
  if (signature !== undefined) query.signature = signature
  return query
}
