import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { ConfigError, environmentVariables, loadConfig } from '../../src/config/load.ts'

const noFiles = path.join(os.tmpdir(), 'delivery-images-no-config')

test('defaults are the SPEC §7 defaults', () => {
  const config = loadConfig({ env: {}, configDir: noFiles })
  assert.equal(config.port, 8080)
  assert.equal(config.host, '0.0.0.0')
  assert.equal(config.origin.kind, 'fs')
  assert.equal(config.cache.memoryMaxBytes, 268435456)
  assert.equal(config.limits.maxSourceBytes, 52428800)
  assert.equal(config.limits.maxQueue, 64)
  assert.deepEqual(config.quality, { jpeg: 80, webp: 80, avif: 60 })
  assert.equal(config.statsd.prefix, 'delivery_images.')
  assert.equal(config.admin.port, 8077)
  assert.deepEqual(config.signingKeys, {})
})

test('environment variables override and are coerced', () => {
  const config = loadConfig({ env: { PORT: '9000', AVIF_ENABLED: 'false', SIGNING_KEYS: '{"a/b":["k1","k2"]}', LIMITS_MAX_QUEUE: '0' }, configDir: noFiles })
  assert.equal(config.port, 9000)
  assert.equal(config.avifEnabled, false)
  assert.deepEqual(config.signingKeys, { 'a/b': ['k1', 'k2'] })
  assert.equal(config.limits.maxQueue, 0)
})

test('a bad value stops the start with a message naming the variable', () => {
  for (const [name, value] of [['LIMITS_MAX_QUEUE', '-1'], ['PORT', 'eighty'], ['ORIGIN', 'ftp'], ['SIGNING_KEYS', '[]'], ['S3_ENDPOINT', 'not a url']]) {
    assert.throws(() => loadConfig({ env: { [name as string]: value }, configDir: noFiles }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(name as string), `${name}=${value}`)
  }
})

test('APP_ENV loads config/<env>.json under the environment, and CONFIG_FILE is merged last', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-config-'))
  fs.writeFileSync(path.join(dir, 'pre.json'), JSON.stringify({ limits: { maxQueue: 7, maxOutputDimension: 777 }, port: 1111 }))
  const extra = path.join(dir, 'extra.json')
  fs.writeFileSync(extra, JSON.stringify({ port: 2222 }))
  const config = loadConfig({ env: { APP_ENV: 'pre', CONFIG_FILE: extra, LIMITS_MAX_QUEUE: '9' }, configDir: dir })
  assert.equal(config.port, 2222)
  assert.equal(config.limits.maxQueue, 9)
  assert.equal(config.limits.maxOutputDimension, 777)
  fs.writeFileSync(path.join(dir, 'pre.json'), '{"nope":1}')
  assert.throws(() => loadConfig({ env: { APP_ENV: 'pre' }, configDir: dir }), /nope/)
  fs.rmSync(dir, { recursive: true })
})

test('every SPEC §7 variable is in the schema', () => {
  const declared = new Set(environmentVariables().values())
  const spec = [
    'PORT', 'HOST', 'APP_ENV', 'CONFIG_FILE', 'ORIGIN', 'ORIGIN_FS_ROOT', 'S3_BUCKET', 'S3_REGION', 'S3_ENDPOINT', 'S3_FORCE_PATH_STYLE',
    'S3_KEY_PREFIX', 'CACHE_MEMORY_MAX_BYTES', 'CACHE_S3_BUCKET', 'CACHE_S3_PREFIX', 'LOGIC_SOURCE', 'LOGIC_FILE', 'LOGIC_MANAGER_URL',
    'TRANSLATOR_URL', 'LOGIC_CACHE_TTL_MS', 'EUREKA_ENABLED', 'EUREKA_HOST', 'EUREKA_PORT', 'EUREKA_SERVICE_PATH', 'EUREKA_DATACENTER',
    'EUREKA_APP', 'LOGIC_MANAGER_APP', 'TRANSLATOR_APP', 'STATSD_ENABLED', 'STATSD_HOST', 'STATSD_PORT', 'STATSD_PREFIX',
    'DD_TRACE_ENABLED', 'LOG_LEVEL', 'DYNAMIC_CONFIG_SOURCE', 'DYNAMIC_CONFIG_FILE', 'DYNAMIC_CONFIG_TABLE', 'DYNAMIC_CONFIG_POLL_MS',
    'DYNAMODB_ENDPOINT', 'LIMITS_MAX_SOURCE_BYTES', 'LIMITS_MAX_SOURCE_PIXELS', 'LIMITS_MAX_OUTPUT_DIMENSION',
    'LIMITS_MAX_CONCURRENT_TRANSFORMS', 'LIMITS_MAX_QUEUE', 'LIMITS_TRANSFORM_TIMEOUT_MS', 'QUALITY_JPEG', 'QUALITY_WEBP',
    'QUALITY_AVIF', 'AVIF_ENABLED', 'WATERMARK_ENABLED', 'CACHE_CONTROL_DEFAULT', 'NOT_FOUND_MAX_AGE_S', 'HYSTRIX_STREAM_INTERVAL_MS',
    'SIGNING_KEYS', 'ADMIN_PORT', 'ADMIN_HOST', 'ADMIN_TOKEN', 'SHUTDOWN_DRAIN_MS', 'SHUTDOWN_TIMEOUT_MS',
    ...['WATERMARK', 'LOGIC', 'ALIAS', 'ORIGIN'].flatMap((name) =>
      ['TIMEOUT_MS', 'ERROR_THRESHOLD_PERCENT', 'MAX_CONCURRENT', 'RESET_MS'].map((setting) => `BREAKER_${name}_${setting}`))
  ]
  for (const name of spec) assert.ok(declared.has(name), name)
})
