import convict from 'convict'
import { leafAtPath, leafOfVariable } from '../leaves.ts'
import type { SchemaLeaf } from '../schema.ts'
import { DYNAMIC_PROPERTIES, isDynamic, type DynamicKey } from './properties.ts'

export type Parsed = { ok: true, value: unknown } | { ok: false, reason: string }
export type Checked = { ok: true, key: DynamicKey, value: unknown } | { ok: false, reason: string }

/** The reason a key that is not a known dynamic property gets; the admin port tells them apart. */
export const UNKNOWN_PROPERTY = 'unknown property'
const NOT_DYNAMIC = 'not a dynamic property'

/** A raw value (from a table, a file or a PUT) for `key`, checked: the key must be dynamic, the value valid. */
export function checkDynamic (key: string, raw: unknown): Checked {
  if (!isDynamic(key)) return { ok: false, reason: leafOfVariable(key) === undefined ? UNKNOWN_PROPERTY : NOT_DYNAMIC }
  const leaf = leafAtPath(DYNAMIC_PROPERTIES[key])?.leaf
  if (leaf === undefined) return { ok: false, reason: UNKNOWN_PROPERTY }
  const parsed = parseValue(leaf, raw)
  return parsed.ok ? { ok: true, key, value: parsed.value } : parsed
}

/**
 * Strings from a table or a file become the schema's type strictly, then convict validates them
 * with the very format the static configuration uses. convict's own string coercion is lenient
 * (`parseInt('12abc')` is 12, any string but "false" is true), which would turn an operator's
 * typo in a kill switch into the opposite of what was meant.
 */
export function parseValue (leaf: Pick<SchemaLeaf, 'default' | 'format'>, raw: unknown): Parsed {
  const typed = strictType(leaf.default, raw)
  if (!typed.ok) return typed
  try {
    const single = convict({ value: { format: leaf.format, default: leaf.default } } as convict.Schema<{ value: unknown }>, { env: {}, args: [] })
    single.set('value', typed.value)
    single.validate({ allowed: 'strict' })
    return { ok: true, value: single.get('value') }
  } catch (error) {
    return { ok: false, reason: (error instanceof Error ? error.message : String(error)).replace(/^value: /, '') }
  }
}

/** `raw` as the type of the default: numbers and booleans may come as their exact text. */
function strictType (dflt: unknown, raw: unknown): Parsed {
  let value = raw
  if (typeof dflt === 'number' && typeof raw === 'string') {
    value = raw.trim() === '' ? Number.NaN : Number(raw)
    if (Number.isNaN(value)) return { ok: false, reason: `must be a number: value was ${JSON.stringify(raw)}` }
  } else if (typeof dflt === 'boolean' && typeof raw === 'string') {
    const lower = raw.trim().toLowerCase()
    if (lower !== 'true' && lower !== 'false') return { ok: false, reason: `must be true or false: value was ${JSON.stringify(raw)}` }
    value = lower === 'true'
  }
  if (typeof value !== typeof dflt) return { ok: false, reason: `must be a ${typeof dflt}: value was ${JSON.stringify(raw)}` }
  return { ok: true, value }
}
