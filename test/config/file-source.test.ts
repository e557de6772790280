import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import pino from 'pino'
import { createDynamicConfig, startDynamicSource } from '../../src/config/dynamic.ts'
import { loadConfig } from '../../src/config/load.ts'
import { createFileSource } from '../../src/config/sources/file-source.ts'
import { createLogSink } from '../helpers/log-sink.ts'

async function eventually (check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 50) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.fail(`timed out waiting for ${what}`)
}

function setup (t: TestContext, initial?: unknown) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-dynamic-'))
  const file = path.join(dir, 'dynamic.json')
  if (initial !== undefined) fs.writeFileSync(file, JSON.stringify(initial))
  const { logger, logs } = createLogSink()
  const env = { DYNAMIC_CONFIG_SOURCE: 'file', DYNAMIC_CONFIG_FILE: file }
  const config = loadConfig({ env, configDir: path.join(dir, 'none') })
  const dynamic = createDynamicConfig({ config, logger, env })
  const source = createFileSource({ file, dynamic, logger, debounceMs: 50 })
  t.after(async () => {
    await source.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { dir, file, config, dynamic, logger, logs, source }
}

test('the file\'s values apply at start and edits reach the running registry', async (t) => {
  const { file, dynamic, source } = setup(t, { LIMITS_MAX_QUEUE: 8, AVIF_ENABLED: 'false' })
  await source.start()
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 8)
  assert.equal(dynamic.get('AVIF_ENABLED'), false)

  fs.writeFileSync(file, JSON.stringify({ LIMITS_MAX_QUEUE: 3 }))
  await eventually(() => dynamic.get('LIMITS_MAX_QUEUE') === 3, 'the edit')
  assert.equal(dynamic.get('AVIF_ENABLED'), true, 'a key removed from the file goes back to its static value')
})

test('a file replaced by a rename (editors, ConfigMap symlink swaps) is picked up', async (t) => {
  const { dir, file, dynamic, source } = setup(t, { QUALITY_WEBP: 70 })
  await source.start()
  const next = path.join(dir, '.dynamic.json.tmp')
  fs.writeFileSync(next, JSON.stringify({ QUALITY_WEBP: 65 }))
  fs.renameSync(next, file)
  await eventually(() => dynamic.get('QUALITY_WEBP') === 65, 'the renamed file')
})

test('malformed JSON and invalid values keep the last good values, with a log line', async (t) => {
  const { file, dynamic, logs, source } = setup(t, { LIMITS_MAX_QUEUE: 8, QUALITY_JPEG: 75 })
  await source.start()

  fs.writeFileSync(file, '{"LIMITS_MAX_QUEUE": 2,')
  await eventually(() => logs.some((entry) => entry.level === 50 && String(entry.msg).includes('not valid JSON')), 'the JSON error')
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 8)

  fs.writeFileSync(file, JSON.stringify({ LIMITS_MAX_QUEUE: 'lots', QUALITY_JPEG: 60 }))
  await eventually(() => dynamic.get('QUALITY_JPEG') === 60, 'the valid part of the file')
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 8)
  assert.ok(logs.some((entry) => entry.level === 40 && entry.key === 'LIMITS_MAX_QUEUE'))
})

test('a missing file starts with the static values and is read once it appears', async (t) => {
  const { file, dynamic, logs, source } = setup(t)
  await source.start()
  assert.equal(dynamic.get('WATERMARK_ENABLED'), true)
  assert.ok(logs.some((entry) => entry.level === 40))
  fs.writeFileSync(file, JSON.stringify({ WATERMARK_ENABLED: false }))
  await eventually(() => !dynamic.get('WATERMARK_ENABLED'), 'the new file')
})

test('DYNAMIC_CONFIG_SOURCE=file starts the file source from the configuration', async (t) => {
  const { file, config, dynamic, logger } = setup(t, { LOGIC_CACHE_TTL_MS: 1234 })
  const source = await startDynamicSource({ config, dynamic, logger })
  t.after(async () => { await source?.stop() })
  assert.equal(dynamic.get('LOGIC_CACHE_TTL_MS'), 1234)
  fs.writeFileSync(file, JSON.stringify({ LOGIC_CACHE_TTL_MS: 4321 }))
  await eventually(() => dynamic.get('LOGIC_CACHE_TTL_MS') === 4321, 'the edit')
})

test('a folder that cannot be watched is a start error naming DYNAMIC_CONFIG_FILE', async () => {
  const logger = pino({ level: 'silent' })
  const config = loadConfig({ env: {}, configDir: os.tmpdir() })
  const dynamic = createDynamicConfig({ config, logger, env: {} })
  const source = createFileSource({ file: path.join(os.tmpdir(), 'no-such-folder-here', 'x.json'), dynamic, logger })
  await assert.rejects(source.start(), /DYNAMIC_CONFIG_FILE/)
})
