import { SCHEMA_LEAVES } from '../leaves.ts'
import type { AppConfig, configSchema } from '../schema.ts'

/**
 * The dynamic properties, all derived from the schema's `dynamic: true` marks: the types walk the
 * schema's type, the table below walks its value, so neither can list a property the other lacks.
 */

/** Each dynamic leaf of schema slice `S` (configuration slice `C`, key prefix `P`) as `{ env, path, value }`. */
type DynamicLeaves<S, C, P extends string> = {
  [K in keyof S & keyof C & string]: S[K] extends { env: infer E extends string, dynamic: true }
    ? { env: E, path: `${P}${K}`, value: C[K] }
    : S[K] extends { default: unknown } ? never : DynamicLeaves<S[K], C[K], `${P}${K}.`>
}[keyof S & keyof C & string]

type DynamicLeaf = DynamicLeaves<typeof configSchema, AppConfig, ''>

/** A dynamic property's environment variable, e.g. `LIMITS_MAX_QUEUE`. */
export type DynamicKey = DynamicLeaf['env']

/** The type of each dynamic property, e.g. `DynamicValues['LIMITS_MAX_QUEUE']` is `number`. */
export type DynamicValues = { [L in DynamicLeaf as L['env']]: L['value'] }

/** Dynamic property → configuration key, e.g. `LIMITS_MAX_QUEUE` → `limits.maxQueue`. */
export const DYNAMIC_PROPERTIES = Object.fromEntries(
  SCHEMA_LEAVES.filter(({ leaf }) => leaf.dynamic === true).map(({ path, leaf }) => [leaf.env, path])
) as { readonly [L in DynamicLeaf as L['env']]: L['path'] }

export function isDynamic (key: string): key is DynamicKey {
  return Object.hasOwn(DYNAMIC_PROPERTIES, key)
}
