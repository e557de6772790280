import { isDeepStrictEqual } from 'node:util'
import { REDACTED } from '../../observability/logger.ts'
import { SCHEMA_LEAVES, valueAt } from '../leaves.ts'
import type { AppConfig, SchemaLeaf } from '../schema.ts'
import type { Effective } from './layers.ts'
import { isDynamic, type DynamicKey } from './properties.ts'
import type { ConfigEntry, ValueSource } from './types.ts'

/** Every configuration variable with its effective value and source, secrets redacted (`GET /admin/config`). */
export function describeConfig (config: AppConfig, env: NodeJS.ProcessEnv, effective: (key: DynamicKey) => Effective): ConfigEntry[] {
  return SCHEMA_LEAVES.map(({ path, leaf }) => {
    const key = leaf.env
    const dynamic = isDynamic(key)
    const { value, layer } = dynamic ? effective(key) : { value: valueAt(config, path), layer: undefined }
    const shown = leaf.sensitive === true && value !== null ? REDACTED : value
    const entry: ConfigEntry = { key, path, value: shown, source: staticSource(key, leaf, value, env), dynamic }
    if (layer !== undefined) Object.assign(entry, { source: 'dynamic', layer })
    return entry
  })
}

/** Static configuration has no provenance, so infer it: set in the environment, equal to the default, or from a file. */
function staticSource (key: string, leaf: SchemaLeaf, value: unknown, env: NodeJS.ProcessEnv): ValueSource {
  if (env[key] !== undefined) return 'env'
  return isDeepStrictEqual(leaf.default, value) ? 'default' : 'file'
}
