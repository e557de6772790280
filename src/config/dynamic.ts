import { isDeepStrictEqual } from 'node:util'
import convict from 'convict'
import type { Logger } from 'pino'
import { configSchema, type AppConfig } from './schema.ts'
import { ConfigError, environmentVariables } from './load.ts'
import { REDACTED } from '../observability/logger.ts'

/**
 * The properties SPEC §7 calls dynamic, by environment variable, with their configuration key.
 * Their types come from `AppConfig`, and their validation from the convict schema: this table
 * only says which keys may change at run time.
 */
export const DYNAMIC_PROPERTIES = {
  BREAKER_WATERMARK_TIMEOUT_MS: 'breakers.watermark.timeoutMs',
  BREAKER_WATERMARK_ERROR_THRESHOLD_PERCENT: 'breakers.watermark.errorThresholdPercent',
  BREAKER_WATERMARK_MAX_CONCURRENT: 'breakers.watermark.maxConcurrent',
  BREAKER_WATERMARK_RESET_MS: 'breakers.watermark.resetMs',
  BREAKER_LOGIC_TIMEOUT_MS: 'breakers.logic.timeoutMs',
  BREAKER_LOGIC_ERROR_THRESHOLD_PERCENT: 'breakers.logic.errorThresholdPercent',
  BREAKER_LOGIC_MAX_CONCURRENT: 'breakers.logic.maxConcurrent',
  BREAKER_LOGIC_RESET_MS: 'breakers.logic.resetMs',
  BREAKER_ALIAS_TIMEOUT_MS: 'breakers.alias.timeoutMs',
  BREAKER_ALIAS_ERROR_THRESHOLD_PERCENT: 'breakers.alias.errorThresholdPercent',
  BREAKER_ALIAS_MAX_CONCURRENT: 'breakers.alias.maxConcurrent',
  BREAKER_ALIAS_RESET_MS: 'breakers.alias.resetMs',
  BREAKER_ORIGIN_TIMEOUT_MS: 'breakers.origin.timeoutMs',
  BREAKER_ORIGIN_ERROR_THRESHOLD_PERCENT: 'breakers.origin.errorThresholdPercent',
  BREAKER_ORIGIN_MAX_CONCURRENT: 'breakers.origin.maxConcurrent',
  BREAKER_ORIGIN_RESET_MS: 'breakers.origin.resetMs',
  LIMITS_MAX_SOURCE_BYTES: 'limits.maxSourceBytes',
  LIMITS_MAX_SOURCE_PIXELS: 'limits.maxSourcePixels',
  LIMITS_MAX_OUTPUT_DIMENSION: 'limits.maxOutputDimension',
  LIMITS_MAX_OUTPUT_PIXELS: 'limits.maxOutputPixels',
  LIMITS_MAX_ANIMATION_FRAMES: 'limits.maxAnimationFrames',
  LIMITS_MAX_CONCURRENT_TRANSFORMS: 'limits.maxConcurrentTransforms',
  LIMITS_MAX_QUEUE: 'limits.maxQueue',
  LIMITS_QUEUE_TIMEOUT_MS: 'limits.queueTimeoutMs',
  LIMITS_TENANT_MAX_SHARE: 'limits.tenantMaxShare',
  LIMITS_TRANSFORM_TIMEOUT_MS: 'limits.transformTimeoutMs',
  LOGIC_CACHE_TTL_MS: 'logic.cacheTtlMs',
  ORIGIN_VERSION_TTL_MS: 'origin.versionTtlMs',
  ORIGIN_STALE_IF_ERROR_MS: 'origin.staleIfErrorMs',
  LOG_LEVEL: 'logLevel',
  QUALITY_JPEG: 'quality.jpeg',
  QUALITY_WEBP: 'quality.webp',
  QUALITY_AVIF: 'quality.avif',
  AVIF_ENABLED: 'avifEnabled',
  WATERMARK_ENABLED: 'watermarkEnabled',
  CACHE_CONTROL_DEFAULT: 'cacheControlDefault'
} as const

export type DynamicKey = keyof typeof DYNAMIC_PROPERTIES

type PathValue<T, P extends string> = P extends `${infer Head}.${infer Rest}`
  ? Head extends keyof T ? PathValue<T[Head], Rest> : never
  : P extends keyof T ? T[P] : never

export type DynamicValues = { [K in DynamicKey]: PathValue<AppConfig, typeof DYNAMIC_PROPERTIES[K]> }

/**
 * Layers over the static configuration, highest precedence first: an operator's PUT on the admin
 * port wins over the shared source (as Archaius' override layer does), which wins over the static
 * configuration. Only one of `file` and `dynamodb` is active (DYNAMIC_CONFIG_SOURCE).
 */
export const DYNAMIC_LAYERS = ['admin', 'dynamodb', 'file'] as const
export type DynamicLayer = typeof DYNAMIC_LAYERS[number]

/** Where an effective value comes from (SPEC §6 `GET /admin/config`). */
export type ValueSource = 'default' | 'file' | 'env' | 'dynamic'

export interface ConfigEntry {
  /** The environment variable, e.g. `LIMITS_MAX_QUEUE`. */
  key: string
  /** The configuration key, e.g. `limits.maxQueue`. */
  path: string
  /** The effective value; `[redacted]` for secrets. */
  value: unknown
  source: ValueSource
  /** Set when `source` is `dynamic`: which layer holds the value. */
  layer?: DynamicLayer
  dynamic: boolean
}

export interface Rejection { key: string, reason: string }
export interface ApplyResult { applied: string[], rejected: Rejection[] }
export type SetResult = { ok: true, value: unknown, previous: unknown } | { ok: false, reason: string, unknownKey?: true }

export type ChangeListener<K extends DynamicKey> = (value: DynamicValues[K], previous: DynamicValues[K]) => void

export interface DynamicConfig {
  /** The current value: read it at use time, never copy it into a constant (STYLE §3.5). */
  get: <K extends DynamicKey>(key: K) => DynamicValues[K]
  /** Any configuration variable by name (dynamic or static); `dflt` when unknown or of another type. */
  getOr: <T>(key: string, dflt: T) => T
  onChange: <K extends DynamicKey>(key: K, listener: ChangeListener<K>) => () => void
  /** Replaces a layer with a full snapshot: keys absent from `values` leave the layer (Archaius' full poll result). */
  apply: (values: Readonly<Record<string, unknown>>, layer: DynamicLayer) => ApplyResult
  /** Sets one key in a layer; `null` removes it from the layer. */
  set: (key: string, value: unknown, layer: DynamicLayer) => SetResult
  isDynamic: (key: string) => key is DynamicKey
  /** Every configuration variable with its effective value and source, secrets redacted. */
  describe: () => ConfigEntry[]
}

export interface DynamicConfigOptions {
  config: AppConfig
  logger: Logger
  /** Counts `dynamic_config.change` (SPEC §8), e.g. `metrics.dynamicConfigChange`. */
  onChangeMetric?: (key: string) => void
  /** The environment the static configuration was loaded from; tells `env` from `file` sources. */
  env?: NodeJS.ProcessEnv
}

interface SchemaLeaf { default: unknown, format: unknown, sensitive?: boolean, nullable?: boolean }

export function createDynamicConfig (options: DynamicConfigOptions): DynamicConfig {
  const { config } = options
  const logger = options.logger.child({ component: 'dynamic-config' })
  const env = options.env ?? process.env
  const layers = new Map<DynamicLayer, Map<DynamicKey, unknown>>(DYNAMIC_LAYERS.map((layer) => [layer, new Map()]))
  const listeners = new Map<DynamicKey, Set<ChangeListener<DynamicKey>>>()
  // A source re-sends the same bad value every poll: report it once, not every few seconds.
  const reported = new Map<string, unknown>()

  function isDynamic (key: string): key is DynamicKey {
    return Object.hasOwn(DYNAMIC_PROPERTIES, key)
  }

  function effective (key: DynamicKey): { value: unknown, layer?: DynamicLayer } {
    for (const layer of DYNAMIC_LAYERS) {
      const values = layers.get(layer)
      if (values?.has(key) === true) return { value: values.get(key), layer }
    }
    return { value: valueAt(config, DYNAMIC_PROPERTIES[key]) }
  }

  /** Runs `update`, then logs, counts and announces every key whose effective value moved. */
  function changing (keys: Iterable<DynamicKey>, layer: DynamicLayer, update: () => void): void {
    const before = new Map([...keys].map((key) => [key, effective(key).value]))
    update()
    for (const [key, previous] of before) {
      const value = effective(key).value
      if (isDeepStrictEqual(previous, value)) continue
      logger.info({ key, previous, value, layer }, `dynamic property ${key} changed`)
      options.onChangeMetric?.(key)
      for (const listener of listeners.get(key) ?? []) {
        try {
          listener(value as never, previous as never)
        } catch (error) {
          logger.error({ err: error, key }, `applying dynamic property ${key} failed`)
        }
      }
    }
  }

  function check (key: string, raw: unknown): { ok: true, key: DynamicKey, value: unknown } | { ok: false, reason: string } {
    if (!isDynamic(key)) {
      const known = environmentVariables()
      return { ok: false, reason: [...known.values()].includes(key) ? 'not a dynamic property' : 'unknown property' }
    }
    const parsed = parse(DYNAMIC_PROPERTIES[key], raw)
    return parsed.ok ? { ok: true, key, value: parsed.value } : parsed
  }

  function reject (key: string, raw: unknown, reason: string, layer: DynamicLayer): Rejection {
    if (!reported.has(key) || !isDeepStrictEqual(reported.get(key), raw)) {
      reported.set(key, raw)
      logger.warn({ key, value: raw, layer, reason }, `rejected dynamic property ${key}: ${reason}; keeping the current value`)
    }
    return { key, reason }
  }

  return {
    isDynamic,
    get: <K extends DynamicKey>(key: K) => effective(key).value as DynamicValues[K],
    getOr<T> (key: string, dflt: T): T {
      let value: unknown
      if (isDynamic(key)) value = effective(key).value
      else {
        const path = pathOf(key)
        value = path === undefined ? undefined : valueAt(config, path)
      }
      if (value === undefined || value === null) return dflt
      if (dflt !== null && dflt !== undefined && typeof value !== typeof dflt) return dflt
      return value as T
    },
    onChange<K extends DynamicKey> (key: K, listener: ChangeListener<K>) {
      const set = listeners.get(key) ?? new Set()
      listeners.set(key, set)
      set.add(listener as unknown as ChangeListener<DynamicKey>)
      return () => { set.delete(listener as unknown as ChangeListener<DynamicKey>) }
    },
    apply (values, layer) {
      const current = layers.get(layer) ?? new Map<DynamicKey, unknown>()
      const next = new Map<DynamicKey, unknown>()
      const result: ApplyResult = { applied: [], rejected: [] }
      for (const [key, raw] of Object.entries(values)) {
        const checked = check(key, raw)
        if (checked.ok) {
          next.set(checked.key, checked.value)
          reported.delete(key)
          result.applied.push(key)
        } else {
          result.rejected.push(reject(key, raw, checked.reason, layer))
          // The old value stays: a typo in the table must not revert a working setting.
          if (isDynamic(key) && current.has(key)) next.set(key, current.get(key))
        }
      }
      changing(new Set([...current.keys(), ...next.keys()]), layer, () => { layers.set(layer, next) })
      return result
    },
    set (key, raw, layer) {
      if (raw === null && isDynamic(key)) {
        const previous = effective(key).value
        changing([key], layer, () => { layers.get(layer)?.delete(key) })
        return { ok: true, value: effective(key).value, previous }
      }
      const checked = check(key, raw)
      if (!checked.ok) {
        reject(key, raw, checked.reason, layer)
        return checked.reason === 'unknown property' ? { ...checked, unknownKey: true } : checked
      }
      const previous = effective(checked.key).value
      changing([checked.key], layer, () => { layers.get(layer)?.set(checked.key, checked.value) })
      return { ok: true, value: checked.value, previous }
    },
    describe () {
      const entries: ConfigEntry[] = []
      for (const [path, key] of environmentVariables()) {
        const leaf = leafAt(path)
        const dynamic = isDynamic(key)
        const { value, layer } = dynamic ? effective(key) : { value: valueAt(config, path), layer: undefined }
        const shown = leaf.sensitive === true && value !== null ? REDACTED : value
        const entry: ConfigEntry = { key, path, value: shown, source: staticSource(key, leaf, value, env), dynamic }
        if (layer !== undefined) Object.assign(entry, { source: 'dynamic', layer })
        entries.push(entry)
      }
      return entries
    }
  }
}

function pathOf (key: string): string | undefined {
  for (const [path, name] of environmentVariables()) if (name === key) return path
  return undefined
}

function valueAt (object: unknown, path: string): unknown {
  let value = object
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part]
  return value
}

function leafAt (path: string): SchemaLeaf {
  return valueAt(configSchema, path) as SchemaLeaf
}

/** Static configuration has no provenance, so infer it: set in the environment, equal to the default, or from a file. */
function staticSource (key: string, leaf: SchemaLeaf, value: unknown, env: NodeJS.ProcessEnv): ValueSource {
  if (env[key] !== undefined) return 'env'
  return isDeepStrictEqual(leaf.default, value) ? 'default' : 'file'
}

/**
 * Strings from a table or a file become the schema's type strictly, then convict validates them
 * with the very format the static configuration uses. convict's own string coercion is lenient
 * (`parseInt('12abc')` is 12, any string but "false" is true), which would turn an operator's
 * typo in a kill switch into the opposite of what was meant.
 */
function parse (path: string, raw: unknown): { ok: true, value: unknown } | { ok: false, reason: string } {
  const leaf = leafAt(path)
  let value = raw
  if (typeof leaf.default === 'number' && typeof raw === 'string') {
    value = raw.trim() === '' ? Number.NaN : Number(raw)
    if (Number.isNaN(value)) return { ok: false, reason: `must be a number: value was ${JSON.stringify(raw)}` }
  } else if (typeof leaf.default === 'boolean' && typeof raw === 'string') {
    const lower = raw.trim().toLowerCase()
    if (lower !== 'true' && lower !== 'false') return { ok: false, reason: `must be true or false: value was ${JSON.stringify(raw)}` }
    value = lower === 'true'
  }
  if (typeof value !== typeof leaf.default) {
    return { ok: false, reason: `must be a ${typeof leaf.default}: value was ${JSON.stringify(raw)}` }
  }
  try {
    const single = convict({ value: { format: leaf.format, default: leaf.default } } as convict.Schema<{ value: unknown }>, { env: {}, args: [] })
    single.set('value', value)
    single.validate({ allowed: 'strict' })
    return { ok: true, value: single.get('value') }
  } catch (error) {
    return { ok: false, reason: (error instanceof Error ? error.message : String(error)).replace(/^value: /, '') }
  }
}

/** The parts that follow dynamic properties live (structural, so the config layer depends on nothing above it). */
export interface DynamicParts {
  limiter?: { configure: (settings: { concurrency: number | 'auto', maxQueue: number, queueTimeoutMs: number, tenantMaxShare: number }) => void }
  breakers?: Partial<Readonly<Record<keyof AppConfig['breakers'], { configure: (settings: AppConfig['breakers']['logic']) => void }>>>
  logger?: { level: string }
}

const BREAKER_PREFIXES = { watermark: 'BREAKER_WATERMARK', logic: 'BREAKER_LOGIC', alias: 'BREAKER_ALIAS', origin: 'BREAKER_ORIGIN' } as const

/**
 * Applies the current values to the limiter, the breakers and the logger, then re-applies them on
 * every change. Returns a function that stops following changes.
 */
export function bindDynamicConfig (dynamic: DynamicConfig, parts: DynamicParts): () => void {
  const unbind: Array<() => void> = []
  const { limiter, breakers, logger } = parts
  if (limiter !== undefined) {
    const configure = (): void => {
      limiter.configure({
        concurrency: dynamic.get('LIMITS_MAX_CONCURRENT_TRANSFORMS'),
        maxQueue: dynamic.get('LIMITS_MAX_QUEUE'),
        queueTimeoutMs: dynamic.get('LIMITS_QUEUE_TIMEOUT_MS'),
        tenantMaxShare: dynamic.get('LIMITS_TENANT_MAX_SHARE')
      })
    }
    configure()
    for (const key of ['LIMITS_MAX_CONCURRENT_TRANSFORMS', 'LIMITS_MAX_QUEUE', 'LIMITS_QUEUE_TIMEOUT_MS', 'LIMITS_TENANT_MAX_SHARE'] as const) {
      unbind.push(dynamic.onChange(key, configure))
    }
  }
  for (const [name, prefix] of Object.entries(BREAKER_PREFIXES)) {
    const breaker = breakers?.[name as keyof typeof BREAKER_PREFIXES]
    if (breaker === undefined) continue
    const keys = {
      timeoutMs: `${prefix}_TIMEOUT_MS`,
      errorThresholdPercent: `${prefix}_ERROR_THRESHOLD_PERCENT`,
      maxConcurrent: `${prefix}_MAX_CONCURRENT`,
      resetMs: `${prefix}_RESET_MS`
    } as const
    const configure = (): void => {
      breaker.configure({
        timeoutMs: dynamic.get(keys.timeoutMs),
        errorThresholdPercent: dynamic.get(keys.errorThresholdPercent),
        maxConcurrent: dynamic.get(keys.maxConcurrent),
        resetMs: dynamic.get(keys.resetMs)
      })
    }
    configure()
    for (const key of Object.values(keys)) unbind.push(dynamic.onChange(key, configure))
  }
  if (logger !== undefined) {
    const configure = (): void => { logger.level = dynamic.get('LOG_LEVEL') }
    configure()
    unbind.push(dynamic.onChange('LOG_LEVEL', configure))
  }
  return () => { for (const stop of unbind) stop() }
}

/**
 * Items of a source that are records for another part, not properties (purges: `purge:…`). The
 * source's snapshot goes through `routeRecords`, the one place that tells them apart, so a record
 * never reaches `apply` as an "unknown property" and a property never reaches a record sink.
 */
export interface RecordSink {
  prefix: string
  /** Every item under the prefix in this snapshot (a full snapshot, like the properties). */
  apply: (records: Readonly<Record<string, unknown>>) => void
}

/** `dynamic` for the sources: records go to their sink, properties to the registry. */
export function routeRecords (dynamic: Pick<DynamicConfig, 'apply'>, sinks: readonly RecordSink[]): Pick<DynamicConfig, 'apply'> {
  if (sinks.length === 0) return dynamic
  return {
    apply (values, layer) {
      const properties: Record<string, unknown> = {}
      const records = sinks.map(() => ({}) as Record<string, unknown>)
      for (const [key, value] of Object.entries(values)) {
        const index = sinks.findIndex((sink) => key.startsWith(sink.prefix))
        const target = index === -1 ? properties : records[index]
        if (target !== undefined) target[key] = value
      }
      sinks.forEach((sink, index) => { sink.apply(records[index] ?? {}) })
      return dynamic.apply(properties, layer)
    }
  }
}

export interface DynamicSourceOptions {
  config: AppConfig
  dynamic: DynamicConfig
  logger: Logger
  /** Record sinks fed from the same snapshots (the purge registry). */
  records?: readonly RecordSink[]
}

/** A started source: it can also write an item, which every instance then reads (purges). */
export interface DynamicSourceHandle {
  /** Writes one item (a string, or JSON for anything else); the local instance applies its own writes itself. */
  write: (key: string, value: unknown) => Promise<void>
  stop: () => Promise<void>
}

/**
 * Creates and starts the source DYNAMIC_CONFIG_SOURCE names, or returns null for `none`. The AWS
 * SDK is loaded only when the table is used. Throws a ConfigError naming the missing variable.
 */
export async function startDynamicSource (options: DynamicSourceOptions): Promise<DynamicSourceHandle | null> {
  const { config, logger } = options
  const dynamic = routeRecords(options.dynamic, options.records ?? [])
  const settings = config.dynamicConfig
  switch (settings.source) {
    case 'none':
      return null
    case 'file': {
      if (settings.file === null) throw new ConfigError('DYNAMIC_CONFIG_FILE (dynamicConfig.file): is required when DYNAMIC_CONFIG_SOURCE=file')
      const { createFileSource } = await import('./sources/file-source.ts')
      const source = createFileSource({ file: settings.file, dynamic, logger })
      await source.start()
      return source
    }
    case 'dynamodb': {
      if (settings.table === null) throw new ConfigError('DYNAMIC_CONFIG_TABLE (dynamicConfig.table): is required when DYNAMIC_CONFIG_SOURCE=dynamodb')
      const { createDynamoDbClient, createDynamoDbSource } = await import('./sources/dynamodb-source.ts')
      // S3_REGION is the service's one AWS region setting; the table lives beside the buckets.
      const client = createDynamoDbClient({ region: config.s3.region, endpoint: settings.dynamodbEndpoint })
      const source = createDynamoDbSource({ client, table: settings.table, pollMs: settings.pollMs, dynamic, logger })
      await source.start()
      return {
        write: source.write,
        async stop () {
          await source.stop()
          client.destroy()
        }
      }
    }
  }
}
