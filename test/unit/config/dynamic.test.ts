import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { DYNAMIC_PROPERTIES, bindDynamicConfig, breakerVariables, createDynamicConfig, startDynamicSource } from '../../../src/config/dynamic.ts'
import { ConfigError, environmentVariables, loadConfig } from '../../../src/config/load.ts'
import { configSchema } from '../../../src/config/schema.ts'
import { createBreakers } from '../../../src/resilience/breakers.ts'
import { createTransformLimiter } from '../../../src/transform/limiter.ts'
import { isDeliveryError } from '../../../src/errors.ts'
import { createLogSink } from '../../helpers/log-sink.ts'

const noFiles = path.join(os.tmpdir(), 'delivery-images-no-config')

function setup (env: Record<string, string> = {}, overrides?: Record<string, unknown>) {
  const { logger, logs } = createLogSink()
  const config = loadConfig({ env, configDir: noFiles, ...(overrides === undefined ? {} : { overrides }) })
  const changes: string[] = []
  const dynamic = createDynamicConfig({ config, logger, env, onChangeMetric: (key) => { changes.push(key) } })
  return { config, dynamic, logger, logs, changes }
}

test('the registry holds exactly the documented dynamic properties, under their schema variable names', () => {
  const variables = environmentVariables()
  for (const [key, configPath] of Object.entries(DYNAMIC_PROPERTIES)) assert.equal(variables.get(configPath), key, configPath)
  const named = /^(BREAKER_|LIMITS_|QUALITY_)/
  const listed = new Set(['LOGIC_CACHE_TTL_MS', 'ORIGIN_VERSION_TTL_MS', 'ORIGIN_STALE_IF_ERROR_MS', 'LOG_LEVEL', 'AVIF_ENABLED', 'WATERMARK_ENABLED', 'CACHE_CONTROL_DEFAULT'])
  const expected = [...variables.values()].filter((name) => named.test(name) || listed.has(name)).sort()
  assert.deepEqual(Object.keys(DYNAMIC_PROPERTIES).sort(), expected)
})

test('the schema\'s dynamic marks decide the registry, the admin view and the breaker variables', () => {
  const { dynamic } = setup()
  const marked = (leaf: unknown): boolean => (leaf as { dynamic?: boolean }).dynamic === true
  assert.equal(marked(configSchema.limits.maxQueue), true)
  assert.equal(marked(configSchema.limits.maxConcurrentTransforms), true)
  assert.equal(marked(configSchema.port), false)
  const leafAt = (configPath: string): unknown => configPath.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], configSchema)
  for (const entry of dynamic.describe()) {
    assert.equal(entry.dynamic, marked(leafAt(entry.path)), entry.key)
    assert.equal(dynamic.isDynamic(entry.key), entry.dynamic, entry.key)
  }
  assert.deepEqual(breakerVariables('origin'), {
    timeoutMs: 'BREAKER_ORIGIN_TIMEOUT_MS',
    errorThresholdPercent: 'BREAKER_ORIGIN_ERROR_THRESHOLD_PERCENT',
    maxConcurrent: 'BREAKER_ORIGIN_MAX_CONCURRENT',
    resetMs: 'BREAKER_ORIGIN_RESET_MS'
  })
  for (const name of ['watermark', 'logic', 'alias', 'origin'] as const) {
    for (const key of Object.values(breakerVariables(name))) assert.ok(dynamic.isDynamic(key), key)
  }
})

test('values start as the static configuration and getOr falls back only for unknown keys', () => {
  const { dynamic } = setup({ LIMITS_MAX_QUEUE: '7' })
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 7)
  assert.equal(dynamic.get('AVIF_ENABLED'), true)
  assert.equal(dynamic.get('BREAKER_LOGIC_TIMEOUT_MS'), 1000)
  assert.equal(dynamic.getOr('LIMITS_MAX_QUEUE', 1), 7)
  assert.equal(dynamic.getOr('PORT', 1), 8080)
  assert.equal(dynamic.getOr('NO_SUCH_PROPERTY', 'fallback'), 'fallback')
  assert.equal(dynamic.getOr('CACHE_CONTROL_DEFAULT', 5), 5, 'a value of another type gives the default')
})

test('applied values are coerced from strings, logged with old and new value, counted and announced', () => {
  const { dynamic, logs, changes } = setup()
  const seen: Array<[boolean, boolean]> = []
  dynamic.onChange('AVIF_ENABLED', (value, previous) => { seen.push([value, previous]) })
  const result = dynamic.apply({ AVIF_ENABLED: 'false', LIMITS_MAX_QUEUE: '12', LOG_LEVEL: 'warn', QUALITY_JPEG: 70 }, 'dynamodb')
  assert.deepEqual(result.rejected, [])
  assert.equal(dynamic.get('AVIF_ENABLED'), false)
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 12)
  assert.equal(dynamic.get('LOG_LEVEL'), 'warn')
  assert.equal(dynamic.get('QUALITY_JPEG'), 70)
  assert.deepEqual(seen, [[false, true]])
  assert.deepEqual(changes.sort(), ['AVIF_ENABLED', 'LIMITS_MAX_QUEUE', 'LOG_LEVEL', 'QUALITY_JPEG'])
  const line = logs.find((entry) => entry.key === 'LIMITS_MAX_QUEUE')
  assert.equal(line?.previous, 64)
  assert.equal(line?.value, 12)
  assert.equal(line?.layer, 'dynamodb')

  dynamic.apply({ AVIF_ENABLED: 'false', LIMITS_MAX_QUEUE: '12', LOG_LEVEL: 'warn', QUALITY_JPEG: 70 }, 'dynamodb')
  assert.equal(changes.length, 4, 'the same snapshot again changes nothing')
})

test('invalid values are refused with a log line and the old value kept', () => {
  const { dynamic, logs } = setup()
  dynamic.apply({ LIMITS_MAX_QUEUE: '10', WATERMARK_ENABLED: 'false' }, 'dynamodb')
  const bad = { LIMITS_MAX_QUEUE: '-1', WATERMARK_ENABLED: 'flase', QUALITY_WEBP: '12abc', LOG_LEVEL: 'loud', BREAKER_ALIAS_TIMEOUT_MS: '2.5', PORT: '1', WHATEVER: 'x' }
  const result = dynamic.apply(bad, 'dynamodb')
  assert.deepEqual(result.applied, [])
  assert.deepEqual(result.rejected.map((entry) => entry.key).sort(), Object.keys(bad).sort())
  assert.match(result.rejected.find((entry) => entry.key === 'PORT')?.reason ?? '', /not a dynamic property/)
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 10)
  assert.equal(dynamic.get('WATERMARK_ENABLED'), false)
  assert.equal(dynamic.get('QUALITY_WEBP'), 80)
  assert.equal(dynamic.get('LOG_LEVEL'), 'info')
  const warnings = logs.filter((entry) => entry.level === 40 && entry.key === 'LIMITS_MAX_QUEUE')
  assert.equal(warnings.length, 1)
  assert.match(String(warnings[0]?.reason), /LIMITS_MAX_QUEUE|integer|-1/)
  dynamic.apply(bad, 'dynamodb')
  assert.equal(logs.filter((entry) => entry.level === 40 && entry.key === 'LIMITS_MAX_QUEUE').length, 1, 'the same bad value is reported once')
})

test('a snapshot without a key puts the property back to its static value', () => {
  const { dynamic, changes } = setup({ QUALITY_AVIF: '55' })
  dynamic.apply({ QUALITY_AVIF: '40' }, 'file')
  assert.equal(dynamic.get('QUALITY_AVIF'), 40)
  dynamic.apply({}, 'file')
  assert.equal(dynamic.get('QUALITY_AVIF'), 55)
  assert.deepEqual(changes, ['QUALITY_AVIF', 'QUALITY_AVIF'])
})

test('an admin override wins over the shared source until it is removed with null', () => {
  const { dynamic } = setup()
  dynamic.apply({ LIMITS_MAX_QUEUE: '20' }, 'dynamodb')
  assert.deepEqual(dynamic.set('LIMITS_MAX_QUEUE', 5, 'admin'), { ok: true, value: 5, previous: 20 })
  dynamic.apply({ LIMITS_MAX_QUEUE: '30' }, 'dynamodb')
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 5)
  assert.deepEqual(dynamic.set('LIMITS_MAX_QUEUE', null, 'admin'), { ok: true, value: 30, previous: 5 })
  assert.deepEqual(dynamic.set('NOPE', 1, 'admin'), { ok: false, reason: 'unknown property', unknownKey: true })
  assert.equal(dynamic.set('LIMITS_MAX_QUEUE', 'many', 'admin').ok, false)
})

test('describe tells each value\'s source and redacts secrets', () => {
  const { dynamic } = setup({ LIMITS_MAX_QUEUE: '9', SIGNING_KEYS: '{"acme/news":"s3cret-0123456789abc"}', ADMIN_TOKEN: 'tok3n' }, { port: 9999 })
  dynamic.apply({ AVIF_ENABLED: 'false' }, 'dynamodb')
  const entries = new Map(dynamic.describe().map((entry) => [entry.key, entry]))
  assert.deepEqual(entries.get('LIMITS_MAX_QUEUE'), { key: 'LIMITS_MAX_QUEUE', path: 'limits.maxQueue', value: 9, source: 'env', dynamic: true })
  assert.equal(entries.get('QUALITY_JPEG')?.source, 'default')
  assert.equal(entries.get('PORT')?.source, 'file')
  assert.deepEqual(entries.get('AVIF_ENABLED'), { key: 'AVIF_ENABLED', path: 'avifEnabled', value: false, source: 'dynamic', layer: 'dynamodb', dynamic: true })
  assert.equal(entries.get('SIGNING_KEYS')?.value, '[redacted]')
  assert.equal(entries.get('ADMIN_TOKEN')?.value, '[redacted]')
  assert.doesNotMatch(JSON.stringify([...entries.values()]), /s3cret|tok3n/)
  assert.equal(entries.size, environmentVariables().size)
})

test('bound parts follow changes: the queue bound, a breaker timeout and the log level', async () => {
  const { config, dynamic, logger } = setup({ LIMITS_MAX_CONCURRENT_TRANSFORMS: '1' })
  const limiter = createTransformLimiter({ concurrency: 1, maxQueue: 64, queueTimeoutMs: 10000, tenantMaxShare: 1 })
  const breakers = createBreakers(config.breakers)
  const unbind = bindDynamicConfig(dynamic, { limiter, breakers, logger })

  // One transformation runs, one holds a place: a third place is free until the queue bound shrinks.
  const running = await limiter.enter({ tenant: 't' }).slot()
  const waiting = limiter.enter({ tenant: 't' })
  const enterOnce = (): void => { limiter.enter({ tenant: 't' }).cancel() }
  assert.doesNotThrow(enterOnce)
  dynamic.apply({ LIMITS_MAX_QUEUE: '1' }, 'dynamodb')
  assert.throws(enterOnce, (error: unknown) => isDeliveryError(error) && error.code === 'OVERLOADED')
  running.done()
  waiting.cancel()

  // A call that only ends when the breaker gives up: the dynamic timeout is what ends it.
  dynamic.apply({ LIMITS_MAX_QUEUE: '1', BREAKER_LOGIC_TIMEOUT_MS: '20' }, 'dynamodb')
  const never = async (signal: AbortSignal): Promise<never> => await new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => {
      const reason: unknown = signal.reason
      reject(reason instanceof Error ? reason : new Error(String(reason)))
    })
  })
  await assert.rejects(breakers.logic.fire(never), (error: unknown) => isDeliveryError(error) && error.code === 'UPSTREAM_TIMEOUT')

  dynamic.apply({ LOG_LEVEL: 'error' }, 'dynamodb')
  assert.equal(logger.level, 'error')
  unbind()
  dynamic.apply({ LOG_LEVEL: 'debug' }, 'dynamodb')
  assert.equal(logger.level, 'error', 'unbound parts no longer follow')
  for (const breaker of Object.values(breakers)) breaker.circuit.shutdown()
})

test('a throwing change listener is logged and does not stop the others', () => {
  const { dynamic, logs } = setup()
  const seen: string[] = []
  dynamic.onChange('CACHE_CONTROL_DEFAULT', () => { throw new Error('boom') })
  dynamic.onChange('CACHE_CONTROL_DEFAULT', (value) => { seen.push(value) })
  dynamic.set('CACHE_CONTROL_DEFAULT', 'no-cache', 'admin')
  assert.deepEqual(seen, ['no-cache'])
  assert.ok(logs.some((entry) => entry.level === 50 && entry.key === 'CACHE_CONTROL_DEFAULT'))
})

test('a configured source without its file or table stops the start naming the variable', async () => {
  for (const [source, variable] of [['file', 'DYNAMIC_CONFIG_FILE'], ['dynamodb', 'DYNAMIC_CONFIG_TABLE']] as const) {
    const { config, dynamic, logger } = setup({ DYNAMIC_CONFIG_SOURCE: source })
    await assert.rejects(startDynamicSource({ config, dynamic, logger }), (error: unknown) => error instanceof ConfigError && error.message.includes(variable))
  }
  const { config, dynamic, logger } = setup()
  assert.equal(await startDynamicSource({ config, dynamic, logger }), null)
})
