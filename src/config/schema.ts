import convict from 'convict'
import { isPathPart } from '../names.ts'

/**
 * The configuration schema: every environment variable, its default and its validation.
 * Keys are nested so that each part receives only its slice (`config.limits`, `config.s3`, …).
 * Leaves marked `dynamic: true` may change at run time (admin port, file or DynamoDB source); the
 * mark is the only place that says so, everything dynamic is derived from it (config/dynamic/).
 */

/** HMAC-SHA256 keys shorter than this can be guessed offline from one signed URL. */
export const MIN_SIGNING_KEY_BYTES = 16

export type SigningKeys = Record<string, string | string[]>

/**
 * SIGNING_KEYS as an object: from the environment it stays JSON text inside convict, whose
 * flattening splits object keys at dots and so could not hold a key for `example.com/news`.
 */
export function signingKeysOf (value: unknown): SigningKeys {
  return (typeof value === 'string' ? JSON.parse(value) : value) as SigningKeys
}

/**
 * Throws unless `value` (an object or its JSON text) is a valid SIGNING_KEYS: the convict format
 * below, and the Secrets Manager document (src/config/secrets.ts), check keys the same way.
 */
export function checkSigningKeys (value: unknown): void {
  let keys: unknown
  try {
    keys = signingKeysOf(value)
  } catch {
    throw new Error('must be JSON')
  }
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new Error('must be a JSON object of "<tenant>/<domain>": "key" or ["key", …]')
  }
  // Messages name the entry, never a key: this is a secret.
  for (const [name, entry] of Object.entries(keys)) {
    const parts = name.split('/')
    if (parts.length !== 2 || !parts.every(isPathPart)) throw new Error(`${JSON.stringify(name)} is not "<tenant>/<domain>"`)
    const list: unknown[] = Array.isArray(entry) ? entry : [entry]
    if (list.length === 0) throw new Error(`${JSON.stringify(name)} has an empty list of keys`)
    if (!list.every((key) => typeof key === 'string' && Buffer.byteLength(key) >= MIN_SIGNING_KEY_BYTES)) {
      throw new Error(`${JSON.stringify(name)}: every key must be a string of at least ${MIN_SIGNING_KEY_BYTES} bytes`)
    }
  }
}

convict.addFormat({ name: 'signing-keys', validate: checkSigningKeys })

/**
 * Visible ASCII and spaces: node refuses a header value with CR, LF or another control character
 * (a 500 for every image), and a Cache-Control has nothing else. The bucket logic schema uses it too.
 */
export const HEADER_VALUE_PATTERN = '^[\\x20-\\x7e]*$'
const HEADER_VALUE = new RegExp(HEADER_VALUE_PATTERN)

convict.addFormat({
  name: 'header-value',
  validate (value: unknown) {
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new Error('must be printable ASCII, without CR, LF or other control characters')
    }
  }
})

convict.addFormat({
  name: 'positive-int',
  validate (value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 1) throw new Error('must be an integer of at least 1')
  },
  coerce: (value: unknown) => Number(value)
})

/** WebP and AVIF cannot encode a side longer than this; no configuration may promise more. */
export const MAX_ENCODABLE_DIMENSION = 16383

convict.addFormat({
  name: 'output-dimension',
  validate (value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_ENCODABLE_DIMENSION) {
      throw new Error(`must be an integer from 1 to ${MAX_ENCODABLE_DIMENSION}`)
    }
  },
  coerce: (value: unknown) => Number(value)
})

convict.addFormat({
  name: 'concurrency',
  validate (value: unknown) {
    if (value !== 'auto' && (!Number.isInteger(value) || (value as number) < 1)) throw new Error('must be auto or an integer of at least 1')
  },
  coerce: (value: unknown) => value === 'auto' ? value : Number(value)
})

convict.addFormat({
  name: 'share',
  validate (value: unknown) {
    if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new Error('must be a number above 0 and at most 1')
  },
  coerce: (value: unknown) => Number(value)
})

convict.addFormat({
  name: 'percent',
  validate (value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 100) throw new Error('must be an integer from 1 to 100')
  },
  coerce: (value: unknown) => Number(value)
})

convict.addFormat({
  name: 'optional-url',
  validate (value: unknown) {
    if (value === null || value === '') return
    if (typeof value !== 'string' || !URL.canParse(value)) throw new Error('must be an absolute URL')
  }
})

interface BreakerDefaults { timeoutMs: number, errorThresholdPercent: number, maxConcurrent: number, resetMs: number }

/** The four settings of one breaker; the only place the `BREAKER_<NAME>_*` variables are spelled. */
function breaker<Name extends Uppercase<string>> (name: Name, defaults: BreakerDefaults) {
  return {
    timeoutMs: { doc: `${name}: call timeout`, format: 'positive-int', default: defaults.timeoutMs, env: `BREAKER_${name}_TIMEOUT_MS` as const, dynamic: true as const },
    errorThresholdPercent: {
      doc: `${name}: error percentage that opens the circuit`,
      format: 'percent',
      default: defaults.errorThresholdPercent,
      env: `BREAKER_${name}_ERROR_THRESHOLD_PERCENT` as const,
      dynamic: true as const
    },
    maxConcurrent: { doc: `${name}: concurrent calls allowed`, format: 'positive-int', default: defaults.maxConcurrent, env: `BREAKER_${name}_MAX_CONCURRENT` as const, dynamic: true as const },
    resetMs: { doc: `${name}: time open before a trial call`, format: 'positive-int', default: defaults.resetMs, env: `BREAKER_${name}_RESET_MS` as const, dynamic: true as const }
  }
}

/** What a leaf of the schema may hold: convict's own properties, and the `dynamic` mark (convict ignores it). */
export interface SchemaLeaf {
  doc: string
  format: unknown
  default: unknown
  env: Uppercase<string>
  nullable?: boolean
  sensitive?: boolean
  dynamic?: true
}

export interface SchemaTree { [key: string]: SchemaLeaf | SchemaTree }

/**
 * Returns the schema as written, only typed: checked against `SchemaTree`, and with each `env`
 * kept as its literal name (the `Uppercase<string>` constraint stops TypeScript widening it to
 * `string`) and each `dynamic: true` as `true`, so that types can be derived from the marks.
 */
function defineSchema<S extends SchemaTree> (schema: S): S {
  return schema
}

export const configSchema = defineSchema({
  port: { doc: 'Public listener port', format: 'port', default: 8080, env: 'PORT' },
  host: { doc: 'Public listener address', format: String, default: '0.0.0.0', env: 'HOST' },
  appEnv: { doc: 'Environment; loads config/<env>.json', format: ['local', 'pre', 'pro'], default: 'local' as 'local' | 'pre' | 'pro', env: 'APP_ENV' },
  configFile: { doc: 'Extra JSON file merged last', format: String, default: null as string | null, nullable: true, env: 'CONFIG_FILE' },
  origin: {
    kind: { doc: 'Where originals live', format: ['fs', 's3'], default: 'fs' as 'fs' | 's3', env: 'ORIGIN' },
    fsRoot: { doc: 'Folder of originals (<tenant>/<domain>/<bucket>/<imageId>)', format: String, default: './data/originals', env: 'ORIGIN_FS_ROOT' },
    versionTtlMs: { doc: 'How long a known version of an original is trusted without asking the origin', format: 'nat', default: 30000, env: 'ORIGIN_VERSION_TTL_MS', dynamic: true },
    staleIfErrorMs: { doc: 'While the origin fails, cached outputs of versions seen within this are served', format: 'nat', default: 3600000, env: 'ORIGIN_STALE_IF_ERROR_MS', dynamic: true }
  },
  s3: {
    bucket: { doc: 'Bucket of originals', format: String, default: null as string | null, nullable: true, env: 'S3_BUCKET' },
    region: { doc: 'AWS region', format: String, default: 'eu-west-1', env: 'S3_REGION' },
    endpoint: { doc: 'S3-compatible endpoint URL', format: 'optional-url', default: null as string | null, nullable: true, env: 'S3_ENDPOINT' },
    forcePathStyle: { doc: 'Path-style addressing for S3-compatible servers', format: Boolean, default: false, env: 'S3_FORCE_PATH_STYLE' },
    keyPrefix: { doc: 'Prefix of every original key', format: String, default: '', env: 'S3_KEY_PREFIX' }
  },
  cache: {
    memoryMaxBytes: { doc: 'In-process LRU of transformed images; 0 turns it off', format: 'nat', default: 268435456, env: 'CACHE_MEMORY_MAX_BYTES' },
    s3Bucket: { doc: 'Shared transformed-image cache bucket (off when unset)', format: String, default: null as string | null, nullable: true, env: 'CACHE_S3_BUCKET' },
    s3Prefix: { doc: 'Key prefix in the cache bucket', format: String, default: 'transformed/', env: 'CACHE_S3_PREFIX' }
  },
  logic: {
    source: { doc: 'Where bucket logic comes from', format: ['file', 'remote'], default: 'file' as 'file' | 'remote', env: 'LOGIC_SOURCE' },
    file: { doc: 'Logic file for LOGIC_SOURCE=file', format: String, default: './config/local-logic.json', env: 'LOGIC_FILE' },
    logicManagerUrl: { doc: 'Static logic manager base URL (skips Eureka)', format: 'optional-url', default: null as string | null, nullable: true, env: 'LOGIC_MANAGER_URL' },
    translatorUrl: { doc: 'Static translator base URL (skips Eureka)', format: 'optional-url', default: null as string | null, nullable: true, env: 'TRANSLATOR_URL' },
    cacheTtlMs: { doc: 'Logic, alias and watermark cache TTL', format: 'nat', default: 60000, env: 'LOGIC_CACHE_TTL_MS', dynamic: true }
  },
  eureka: {
    enabled: { doc: 'Register in and discover through Eureka', format: Boolean, default: false, env: 'EUREKA_ENABLED' },
    host: { doc: 'Eureka server host', format: String, default: 'localhost', env: 'EUREKA_HOST' },
    port: { doc: 'Eureka server port', format: 'port', default: 8761, env: 'EUREKA_PORT' },
    servicePath: { doc: 'Eureka REST path', format: String, default: '/eureka/apps/', env: 'EUREKA_SERVICE_PATH' },
    datacenter: { doc: 'Data center info flavour', format: ['local', 'aws', 'k8s'], default: 'local' as 'local' | 'aws' | 'k8s', env: 'EUREKA_DATACENTER' },
    app: { doc: 'This service\'s Eureka app name', format: String, default: 'DELIVERY-IMAGES', env: 'EUREKA_APP' },
    logicManagerApp: { doc: 'Logic manager app name', format: String, default: 'LOGIC-MANAGER', env: 'LOGIC_MANAGER_APP' },
    translatorApp: { doc: 'Translator app name', format: String, default: 'TRANSLATOR', env: 'TRANSLATOR_APP' }
  },
  breakers: {
    watermark: breaker('WATERMARK', { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 50, resetMs: 10000 }),
    logic: breaker('LOGIC', { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 100, resetMs: 10000 }),
    alias: breaker('ALIAS', { timeoutMs: 1000, errorThresholdPercent: 50, maxConcurrent: 100, resetMs: 10000 }),
    origin: breaker('ORIGIN', { timeoutMs: 5000, errorThresholdPercent: 50, maxConcurrent: 200, resetMs: 10000 })
  },
  statsd: {
    enabled: { doc: 'Send DogStatsD metrics', format: Boolean, default: true, env: 'STATSD_ENABLED' },
    host: { doc: 'DogStatsD host', format: String, default: '127.0.0.1', env: 'STATSD_HOST' },
    port: { doc: 'DogStatsD port', format: 'port', default: 8125, env: 'STATSD_PORT' },
    prefix: { doc: 'Metric name prefix', format: String, default: 'delivery_images.', env: 'STATSD_PREFIX' }
  },
  tracing: {
    enabled: { doc: 'Datadog APM tracing', format: Boolean, default: false, env: 'DD_TRACE_ENABLED' }
  },
  logLevel: {
    doc: 'pino level',
    format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info' as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent',
    env: 'LOG_LEVEL',
    dynamic: true
  },
  dynamicConfig: {
    source: { doc: 'Source of dynamic properties', format: ['none', 'file', 'dynamodb'], default: 'none' as 'none' | 'file' | 'dynamodb', env: 'DYNAMIC_CONFIG_SOURCE' },
    file: { doc: 'Dynamic properties file', format: String, default: null as string | null, nullable: true, env: 'DYNAMIC_CONFIG_FILE' },
    table: { doc: 'DynamoDB table of {key, value} items', format: String, default: null as string | null, nullable: true, env: 'DYNAMIC_CONFIG_TABLE' },
    pollMs: { doc: 'Poll interval of the DynamoDB table', format: 'positive-int', default: 10000, env: 'DYNAMIC_CONFIG_POLL_MS' },
    dynamodbEndpoint: { doc: 'DynamoDB endpoint URL', format: 'optional-url', default: null as string | null, nullable: true, env: 'DYNAMODB_ENDPOINT' }
  },
  limits: {
    maxSourceBytes: { doc: 'Largest original accepted, bytes', format: 'positive-int', default: 52428800, env: 'LIMITS_MAX_SOURCE_BYTES', dynamic: true },
    maxSourcePixels: { doc: 'Largest original accepted, width x height', format: 'positive-int', default: 100000000, env: 'LIMITS_MAX_SOURCE_PIXELS', dynamic: true },
    maxOutputDimension: { doc: 'Largest side of any output, at most 16383', format: 'output-dimension', default: 8192, env: 'LIMITS_MAX_OUTPUT_DIMENSION', dynamic: true },
    maxOutputPixels: { doc: 'Largest output, width x height of one frame; frames x that for an animation', format: 'positive-int', default: 40000000, env: 'LIMITS_MAX_OUTPUT_PIXELS', dynamic: true },
    maxAnimationFrames: { doc: 'Most frames an animated output keeps as an animation', format: 'positive-int', default: 200, env: 'LIMITS_MAX_ANIMATION_FRAMES', dynamic: true },
    maxConcurrentTransforms: {
      doc: 'Transformations running at once: a number, or auto (adaptive, 1 to 4 x CPUs)',
      format: 'concurrency',
      default: 'auto' as 'auto' | number,
      env: 'LIMITS_MAX_CONCURRENT_TRANSFORMS',
      dynamic: true
    },
    maxQueue: { doc: 'Waiting transformations beyond which requests get 503', format: 'nat', default: 64, env: 'LIMITS_MAX_QUEUE', dynamic: true },
    queueTimeoutMs: { doc: 'Longest wait for a transform slot before 503', format: 'positive-int', default: 10000, env: 'LIMITS_QUEUE_TIMEOUT_MS', dynamic: true },
    tenantMaxShare: { doc: 'Share of slots + queue one tenant may hold while others wait', format: 'share', default: 0.5, env: 'LIMITS_TENANT_MAX_SHARE', dynamic: true },
    transformTimeoutMs: { doc: 'Time allowed for one transformation', format: 'positive-int', default: 15000, env: 'LIMITS_TRANSFORM_TIMEOUT_MS', dynamic: true }
  },
  quality: {
    jpeg: { doc: 'Default JPEG quality', format: 'percent', default: 80, env: 'QUALITY_JPEG', dynamic: true },
    webp: { doc: 'Default WebP quality', format: 'percent', default: 80, env: 'QUALITY_WEBP', dynamic: true },
    avif: { doc: 'Default AVIF quality', format: 'percent', default: 60, env: 'QUALITY_AVIF', dynamic: true }
  },
  avifEnabled: { doc: 'AVIF kill switch', format: Boolean, default: true, env: 'AVIF_ENABLED', dynamic: true },
  watermarkEnabled: { doc: 'Watermark kill switch', format: Boolean, default: true, env: 'WATERMARK_ENABLED', dynamic: true },
  cacheControlDefault: { doc: 'Cache-Control when the bucket has none', format: 'header-value', default: 'public, max-age=86400', env: 'CACHE_CONTROL_DEFAULT', dynamic: true },
  notFoundMaxAgeS: { doc: 'max-age of image 404s', format: 'nat', default: 60, env: 'NOT_FOUND_MAX_AGE_S' },
  hystrixStreamIntervalMs: { doc: 'Interval of /hystrix.stream events', format: 'positive-int', default: 1000, env: 'HYSTRIX_STREAM_INTERVAL_MS' },
  signingKeys: {
    doc: 'Signing keys per <tenant>/<domain>: a secret or a list of secrets',
    format: 'signing-keys',
    default: {} as SigningKeys,
    env: 'SIGNING_KEYS',
    sensitive: true
  },
  server: {
    headersTimeoutMs: { doc: 'Time a client has to send the request headers', format: 'positive-int', default: 10000, env: 'SERVER_HEADERS_TIMEOUT_MS' },
    requestTimeoutMs: { doc: 'Time a client has to send the whole request, at least SERVER_HEADERS_TIMEOUT_MS', format: 'positive-int', default: 30000, env: 'SERVER_REQUEST_TIMEOUT_MS' },
    keepAliveTimeoutMs: { doc: 'Idle time after which a kept-alive connection is closed', format: 'positive-int', default: 72000, env: 'SERVER_KEEP_ALIVE_TIMEOUT_MS' },
    maxConnections: { doc: 'Open connections beyond which new ones are refused', format: 'positive-int', default: 8192, env: 'SERVER_MAX_CONNECTIONS' }
  },
  schemaValidation: {
    maxBytes: { doc: 'Body limit of POST /schema/validate (413 beyond)', format: 'positive-int', default: 262144, env: 'SCHEMA_VALIDATE_MAX_BYTES' }
  },
  cdn: {
    provider: { doc: 'CDN in front: cloudfront makes purges create CloudFront invalidations', format: ['none', 'cloudfront'], default: 'none' as 'none' | 'cloudfront', env: 'CDN_PROVIDER' },
    distributionId: { doc: 'CloudFront distribution id, required when CDN_PROVIDER=cloudfront', format: String, default: null as string | null, nullable: true, env: 'CDN_DISTRIBUTION_ID' }
  },
  secrets: {
    source: { doc: 'Where SIGNING_KEYS and ADMIN_TOKEN come from: env, or aws-secrets-manager (re-read every DYNAMIC_CONFIG_POLL_MS)', format: ['env', 'aws-secrets-manager'], default: 'env' as 'env' | 'aws-secrets-manager', env: 'SECRETS_SOURCE' },
    id: { doc: 'Secrets Manager secret id (name or ARN), required when SECRETS_SOURCE=aws-secrets-manager', format: String, default: null as string | null, nullable: true, env: 'SECRETS_ID' }
  },
  admin: {
    port: { doc: 'Admin listener port', format: 'port', default: 8077, env: 'ADMIN_PORT' },
    host: { doc: 'Admin listener address', format: String, default: '127.0.0.1', env: 'ADMIN_HOST' },
    token: { doc: 'Bearer token for PUT /admin/config/:key', format: String, default: null as string | null, nullable: true, env: 'ADMIN_TOKEN', sensitive: true }
  },
  shutdown: {
    drainMs: { doc: 'Time between readiness going down and closing the listener', format: 'nat', default: 5000, env: 'SHUTDOWN_DRAIN_MS' },
    timeoutMs: { doc: 'Time allowed for in-flight requests to finish', format: 'nat', default: 25000, env: 'SHUTDOWN_TIMEOUT_MS' }
  }
})

type Leaf<T> = T extends { default: infer D }
  ? D extends null ? string | null : D extends number ? number : D extends boolean ? boolean : D
  : never
type Shape<S> = { [K in keyof S]: S[K] extends { default: unknown, format: unknown } ? Leaf<S[K]> : Shape<S[K]> }

/** The validated configuration, typed from the schema so the two cannot drift. */
export type AppConfig = Shape<typeof configSchema>
