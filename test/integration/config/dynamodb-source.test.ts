import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import pino from 'pino'
import { bindDynamicConfig, createDynamicConfig, startDynamicSource } from '../../../src/config/dynamic.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { createDynamoDbSource } from '../../../src/config/sources/dynamodb-source.ts'
import { createBreakers } from '../../../src/resilience/breakers.ts'
import { createTransformLimiter } from '../../../src/transform/limiter.ts'
import { isDeliveryError } from '../../../src/errors.ts'
import { startDynamoDbServer, type DynamoDbServer } from '../../helpers/dynamodb-server.ts'
import { createLogSink } from '../../helpers/log-sink.ts'
import { untilValue } from '../../helpers/config-changes.ts'

const POLL_MS = 100

async function setup (t: TestContext, items: Record<string, string> = {}, options: { pageSize?: number } = {}) {
  const table = await startDynamoDbServer({ items })
  const { logger, logs } = createLogSink()
  const config = loadConfig({ env: { LIMITS_MAX_CONCURRENT_TRANSFORMS: '1' }, configDir: path.join(os.tmpdir(), 'delivery-images-none') })
  const dynamic = createDynamicConfig({ config, logger, env: {} })
  const client = table.newClient()
  const source = createDynamoDbSource({ client, table: table.table, pollMs: POLL_MS, dynamic, logger, ...options })
  t.after(async () => {
    await source.stop()
    client.destroy()
    await table.close()
  })
  return { table, config, dynamic, logger, logs, source }
}

/** Puts an item and waits for a full poll that started after the write. */
async function putAndPoll (table: DynamoDbServer, poll: () => Promise<boolean>, key: string, value: string): Promise<void> {
  await table.put(key, value)
  await poll()
  await poll()
}

test('a property changed in the table reaches a running instance within the poll interval and changes behaviour', async (t) => {
  const { table, config, dynamic, logger, source } = await setup(t, { LIMITS_MAX_QUEUE: '5' })
  await source.start()
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 5)

  const limiter = createTransformLimiter({ concurrency: 1, maxQueue: 64, queueTimeoutMs: 10000, tenantMaxShare: 1 })
  const breakers = createBreakers(config.breakers)
  t.after(() => { for (const breaker of Object.values(breakers)) breaker.circuit.shutdown() })
  bindDynamicConfig(dynamic, { limiter, breakers, logger })

  // One transformation runs, one holds a place: a third place is free until the queue bound shrinks.
  const running = await limiter.enter({ tenant: 't' }).slot()
  const waiting = limiter.enter({ tenant: 't' })
  const enterOnce = (): void => { limiter.enter({ tenant: 't' }).cancel() }
  assert.doesNotThrow(enterOnce)

  await table.put('LIMITS_MAX_QUEUE', '1')
  await untilValue(dynamic, 'LIMITS_MAX_QUEUE', (value) => value === 1, 'the new queue bound')
  assert.throws(enterOnce, (error: unknown) => isDeliveryError(error) && error.code === 'OVERLOADED')
  running.done()
  waiting.cancel()

  await table.put('BREAKER_ORIGIN_TIMEOUT_MS', '20')
  await untilValue(dynamic, 'BREAKER_ORIGIN_TIMEOUT_MS', (value) => value === 20, 'the new breaker timeout')
  const never = async (signal: AbortSignal): Promise<never> => await new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => {
      const reason: unknown = signal.reason
      reject(reason instanceof Error ? reason : new Error(String(reason)))
    })
  })
  await assert.rejects(breakers.origin.fire(never), (error: unknown) => isDeliveryError(error) && error.code === 'UPSTREAM_TIMEOUT')
})

test('an invalid value in the table is refused and the old value kept', async (t) => {
  const { table, dynamic, logs, source } = await setup(t, { QUALITY_AVIF: '50' })
  await source.start()
  await putAndPoll(table, source.poll, 'QUALITY_AVIF', 'high')
  assert.equal(dynamic.get('QUALITY_AVIF'), 50)
  assert.ok(logs.some((entry) => entry.level === 40 && entry.key === 'QUALITY_AVIF' && entry.value === 'high'))
})

test('a deleted item puts the property back to its static value', async (t) => {
  const { table, dynamic, source } = await setup(t, { CACHE_CONTROL_DEFAULT: 'public, max-age=60' })
  await source.start()
  assert.equal(dynamic.get('CACHE_CONTROL_DEFAULT'), 'public, max-age=60')
  await table.remove('CACHE_CONTROL_DEFAULT')
  await untilValue(dynamic, 'CACHE_CONTROL_DEFAULT', (value) => value === 'public, max-age=86400', 'the static value')
})

test('the table being down keeps the last values, logged once', async (t) => {
  const { table, dynamic, logs, source } = await setup(t, { WATERMARK_ENABLED: 'false', LIMITS_MAX_QUEUE: '3' })
  await source.start()
  assert.equal(dynamic.get('WATERMARK_ENABLED'), false)
  await table.stop()
  assert.equal(await source.poll(), false)
  assert.equal(await source.poll(), false)
  assert.equal(dynamic.get('WATERMARK_ENABLED'), false)
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 3)
  assert.equal(logs.filter((entry) => entry.level === 50).length, 1)
})

test('every page of a large table is read', async (t) => {
  const items = { QUALITY_JPEG: '61', QUALITY_WEBP: '62', QUALITY_AVIF: '63', LOG_LEVEL: 'warn', LIMITS_MAX_QUEUE: '9' }
  const { dynamic, source } = await setup(t, items, { pageSize: 2 })
  await source.start()
  assert.deepEqual(
    [dynamic.get('QUALITY_JPEG'), dynamic.get('QUALITY_WEBP'), dynamic.get('QUALITY_AVIF'), dynamic.get('LOG_LEVEL'), dynamic.get('LIMITS_MAX_QUEUE')],
    [61, 62, 63, 'warn', 9])
})

test('DYNAMIC_CONFIG_SOURCE=dynamodb polls the configured table', async (t) => {
  const table = await startDynamoDbServer({ table: 'deliveryImagesProperties', items: { AVIF_ENABLED: 'false' } })
  t.after(async () => { await table.close() })
  // The service's client uses the default credential chain; dynalite accepts any keys.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY }
  process.env.AWS_ACCESS_KEY_ID = 'local'
  process.env.AWS_SECRET_ACCESS_KEY = 'local'
  t.after(() => {
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID; else process.env.AWS_ACCESS_KEY_ID = saved.id
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY; else process.env.AWS_SECRET_ACCESS_KEY = saved.secret
  })
  const env = { DYNAMIC_CONFIG_SOURCE: 'dynamodb', DYNAMIC_CONFIG_TABLE: table.table, DYNAMIC_CONFIG_POLL_MS: String(POLL_MS), DYNAMODB_ENDPOINT: table.endpoint }
  const config = loadConfig({ env, configDir: path.join(os.tmpdir(), 'delivery-images-none') })
  const logger = pino({ level: 'silent' })
  const dynamic = createDynamicConfig({ config, logger, env })
  const source = await startDynamicSource({ config, dynamic, logger })
  t.after(async () => { await source?.stop() })
  assert.equal(dynamic.get('AVIF_ENABLED'), false)
  await table.put('AVIF_ENABLED', 'true')
  await untilValue(dynamic, 'AVIF_ENABLED', (value) => value, 'the switch back on')
})
