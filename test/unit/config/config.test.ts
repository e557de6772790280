import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { ConfigError, environmentVariables, loadConfig } from '../../../src/config/load.ts'
import { createDynamicConfig } from '../../../src/config/dynamic.ts'
import { createLogSink } from '../../helpers/log-sink.ts'

const noFiles = path.join(os.tmpdir(), 'delivery-images-no-config')

test('defaults are the documented defaults', () => {
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
  assert.equal(config.cacheControlDefault, 'public, max-age=86400')
  assert.deepEqual(config.server, { headersTimeoutMs: 10000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 72000, maxConnections: 8192 })
  assert.equal(config.schemaValidation.maxBytes, 262144)
})

test('environment variables override and are coerced', () => {
  const config = loadConfig({ env: { PORT: '9000', AVIF_ENABLED: 'false', SIGNING_KEYS: '{"a/b":["key-one-16-bytes","key-two-16-bytes"]}', LIMITS_MAX_QUEUE: '0' }, configDir: noFiles })
  assert.equal(config.port, 9000)
  assert.equal(config.avifEnabled, false)
  assert.deepEqual(config.signingKeys, { 'a/b': ['key-one-16-bytes', 'key-two-16-bytes'] })
  assert.equal(config.limits.maxQueue, 0)
})

test('a bad value stops the start with a message naming the variable', () => {
  for (const [name, value] of [['LIMITS_MAX_QUEUE', '-1'], ['PORT', 'eighty'], ['ORIGIN', 'ftp'], ['SIGNING_KEYS', '[]'], ['S3_ENDPOINT', 'not a url']]) {
    assert.throws(() => loadConfig({ env: { [name as string]: value }, configDir: noFiles }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(name as string), `${name}=${value}`)
  }
})

function refused (env: Record<string, string>, variable: string): ConfigError {
  let caught: unknown
  try {
    loadConfig({ env, configDir: noFiles })
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof ConfigError, `${JSON.stringify(env)} was accepted`)
  assert.ok(caught.message.includes(variable), caught.message)
  return caught
}

test('SIGNING_KEYS: one key or a list per <tenant>/<domain>, every key at least 16 bytes', () => {
  // Bytes count, not characters; a dot in a name is fine (convict alone would split the name there).
  const keys = { 'acme/news': 'sixteen-bytes-ok', 'acme/sport': ['the-new-key-1234', 'the-old-key-1234'], 'acme/example.com': 'éééééééé' }
  assert.deepEqual(loadConfig({ env: { SIGNING_KEYS: JSON.stringify(keys) }, configDir: noFiles }).signingKeys, keys)
  const bad: Array<[string, unknown]> = [
    ['a short key', { 'acme/news': 'fifteen-bytes!!' }],
    ['an empty key', { 'acme/news': '' }],
    ['a short key in a list', { 'acme/news': ['the-new-key-1234', 'short-old-key'] }],
    ['14 bytes in 7 characters', { 'acme/news': 'ééééééé' }],
    ['a number', { 'acme/news': 1234567890123456 }],
    ['null', { 'acme/news': null }],
    ['an object', { 'acme/news': { key: 'sixteen-bytes-ok' } }],
    ['a list with a number', { 'acme/news': ['sixteen-bytes-ok', 7] }],
    ['an empty list', { 'acme/news': [] }],
    ['a name without a domain', { acme: 'sixteen-bytes-ok' }],
    ['a name with a bucket', { 'acme/news/photos': 'sixteen-bytes-ok' }],
    ['an empty tenant', { '/news': 'sixteen-bytes-ok' }],
    ['a dot segment', { '../news': 'sixteen-bytes-ok' }],
    ['a list at the top', ['sixteen-bytes-ok']]
  ]
  for (const [label, value] of bad) {
    const error = refused({ SIGNING_KEYS: JSON.stringify(value) }, 'SIGNING_KEYS')
    // The message names the entry, never the secret.
    assert.ok(!error.message.includes('-bytes') && !error.message.includes('key-1234'), `${label}: ${error.message}`)
  }
  refused({ SIGNING_KEYS: '{"acme/news": "not closed' }, 'SIGNING_KEYS')
})

test('CACHE_CONTROL_DEFAULT refuses CR, LF and other control characters', () => {
  for (const value of ['public\r\nSet-Cookie: a=b', 'public\nx', 'max-age=60\u0000', 'tab\there', 'max-age=60\u007f', 'caf\u00e9']) {
    refused({ CACHE_CONTROL_DEFAULT: value }, 'CACHE_CONTROL_DEFAULT')
  }
  assert.equal(loadConfig({ env: { CACHE_CONTROL_DEFAULT: 'private, max-age=0' }, configDir: noFiles }).cacheControlDefault, 'private, max-age=0')
})

test('a dynamic CACHE_CONTROL_DEFAULT (admin PUT, file, DynamoDB) is checked by the same format', () => {
  const { logger } = createLogSink()
  const config = loadConfig({ env: {}, configDir: noFiles })
  const dynamic = createDynamicConfig({ config, logger, env: {} })
  const put = dynamic.set('CACHE_CONTROL_DEFAULT', 'public\r\nSet-Cookie: a=b', 'admin')
  assert.equal(put.ok, false)
  const polled = dynamic.apply({ CACHE_CONTROL_DEFAULT: 'public\nx' }, 'dynamodb')
  assert.deepEqual(polled.rejected.map((r) => r.key), ['CACHE_CONTROL_DEFAULT'])
  assert.equal(dynamic.get('CACHE_CONTROL_DEFAULT'), 'public, max-age=86400')
  assert.equal(dynamic.set('CACHE_CONTROL_DEFAULT', 'public, max-age=60', 'admin').ok, true)
  assert.equal(dynamic.get('CACHE_CONTROL_DEFAULT'), 'public, max-age=60')
})

test('server limits and the schema body limit are positive integers; headers come before the whole request', () => {
  for (const name of ['SERVER_HEADERS_TIMEOUT_MS', 'SERVER_REQUEST_TIMEOUT_MS', 'SERVER_KEEP_ALIVE_TIMEOUT_MS', 'SERVER_MAX_CONNECTIONS', 'SCHEMA_VALIDATE_MAX_BYTES']) {
    for (const value of ['0', '-5', '1.5', 'lots']) refused({ [name]: value }, name)
  }
  const config = loadConfig({ env: { SERVER_HEADERS_TIMEOUT_MS: '500', SERVER_REQUEST_TIMEOUT_MS: '500', SCHEMA_VALIDATE_MAX_BYTES: '1024' }, configDir: noFiles })
  assert.deepEqual([config.server.headersTimeoutMs, config.server.requestTimeoutMs, config.schemaValidation.maxBytes], [500, 500, 1024])
  const error = refused({ SERVER_HEADERS_TIMEOUT_MS: '40000' }, 'SERVER_HEADERS_TIMEOUT_MS')
  assert.match(error.message, /SERVER_REQUEST_TIMEOUT_MS/)
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

test('an unreadable or malformed configuration file is a ConfigError naming CONFIG_FILE, or the environment file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-config-'))
  const broken = path.join(dir, 'broken.json')
  fs.writeFileSync(broken, '{"port": 1,')
  refused({ CONFIG_FILE: path.join(dir, 'missing.json') }, 'CONFIG_FILE (configFile): cannot load ')
  refused({ CONFIG_FILE: broken }, 'CONFIG_FILE (configFile): cannot load ')
  fs.writeFileSync(path.join(dir, 'pre.json'), '{"port": 1,')
  assert.throws(() => loadConfig({ env: { APP_ENV: 'pre' }, configDir: dir }),
    (error: unknown) => error instanceof ConfigError && error.message.startsWith(path.join(dir, 'pre.json')))
  fs.rmSync(dir, { recursive: true })
})

test('every documented variable is in the schema', () => {
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
    'SIGNING_KEYS', 'SERVER_HEADERS_TIMEOUT_MS', 'SERVER_REQUEST_TIMEOUT_MS', 'SERVER_KEEP_ALIVE_TIMEOUT_MS', 'SERVER_MAX_CONNECTIONS',
    'SCHEMA_VALIDATE_MAX_BYTES', 'ADMIN_PORT', 'ADMIN_HOST', 'ADMIN_TOKEN', 'SHUTDOWN_DRAIN_MS', 'SHUTDOWN_TIMEOUT_MS',
    ...['WATERMARK', 'LOGIC', 'ALIAS', 'ORIGIN'].flatMap((name) =>
      ['TIMEOUT_MS', 'ERROR_THRESHOLD_PERCENT', 'MAX_CONCURRENT', 'RESET_MS'].map((setting) => `BREAKER_${name}_${setting}`))
  ]
  for (const name of spec) assert.ok(declared.has(name), name)
})
