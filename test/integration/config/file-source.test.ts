import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import pino from 'pino'
import { createDynamicConfig, startDynamicSource } from '../../../src/config/dynamic.ts'
import { ConfigError, loadConfig } from '../../../src/config/load.ts'
import { createFileSource, type FileReadOutcome } from '../../../src/config/sources/file-source.ts'
import { createLogSink } from '../../helpers/log-sink.ts'
import { untilValue } from '../../helpers/config-changes.ts'

function setup (t: TestContext, initial?: unknown) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-dynamic-'))
  const file = path.join(dir, 'dynamic.json')
  if (initial !== undefined) fs.writeFileSync(file, JSON.stringify(initial))
  const { logger, logs } = createLogSink()
  const env = { DYNAMIC_CONFIG_SOURCE: 'file', DYNAMIC_CONFIG_FILE: file }
  const config = loadConfig({ env, configDir: path.join(dir, 'none') })
  const dynamic = createDynamicConfig({ config, logger, env })
  // Each read of the file is an event named after its outcome: a test waits for the read, not for a time.
  const reads = new EventEmitter<Record<FileReadOutcome, []>>()
  const source = createFileSource({ file, dynamic, logger, debounceMs: 50, onRead: (outcome) => reads.emit(outcome) })
  t.after(async () => {
    await source.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { dir, file, config, dynamic, logger, logs, source, reads }
}

test('the file\'s values apply at start and edits reach the running registry', async (t) => {
  const { file, dynamic, source } = setup(t, { LIMITS_MAX_QUEUE: 8, AVIF_ENABLED: 'false' })
  await source.start()
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 8)
  assert.equal(dynamic.get('AVIF_ENABLED'), false)

  fs.writeFileSync(file, JSON.stringify({ LIMITS_MAX_QUEUE: 3 }))
  await untilValue(dynamic, 'LIMITS_MAX_QUEUE', (value) => value === 3, 'the edit')
  assert.equal(dynamic.get('AVIF_ENABLED'), true, 'a key removed from the file goes back to its static value')
})

test('a file replaced by a rename (editors, ConfigMap symlink swaps) is picked up', async (t) => {
  const { dir, file, dynamic, source } = setup(t, { QUALITY_WEBP: 70 })
  await source.start()
  const next = path.join(dir, '.dynamic.json.tmp')
  fs.writeFileSync(next, JSON.stringify({ QUALITY_WEBP: 65 }))
  fs.renameSync(next, file)
  await untilValue(dynamic, 'QUALITY_WEBP', (value) => value === 65, 'the renamed file')
})

test('malformed JSON and invalid values keep the last good values, with a log line', async (t) => {
  const { file, dynamic, logs, source, reads } = setup(t, { LIMITS_MAX_QUEUE: 8, QUALITY_JPEG: 75 })
  await source.start()

  fs.writeFileSync(file, '{"LIMITS_MAX_QUEUE": 2,')
  await once(reads, 'malformed', { signal: AbortSignal.timeout(5000) })
  assert.ok(logs.some((entry) => entry.level === 50 && String(entry.msg).includes('not valid JSON')), 'the JSON error')
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 8)

  fs.writeFileSync(file, JSON.stringify({ LIMITS_MAX_QUEUE: 'lots', QUALITY_JPEG: 60 }))
  await untilValue(dynamic, 'QUALITY_JPEG', (value) => value === 60, 'the valid part of the file')
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 8)
  assert.ok(logs.some((entry) => entry.level === 40 && entry.key === 'LIMITS_MAX_QUEUE'))
})

test('a missing file starts with the static values and is read once it appears', async (t) => {
  const { file, dynamic, logs, source } = setup(t)
  await source.start()
  assert.equal(dynamic.get('WATERMARK_ENABLED'), true)
  assert.ok(logs.some((entry) => entry.level === 40))
  fs.writeFileSync(file, JSON.stringify({ WATERMARK_ENABLED: false }))
  await untilValue(dynamic, 'WATERMARK_ENABLED', (value) => !value, 'the new file')
})

test('DYNAMIC_CONFIG_SOURCE=file starts the file source from the configuration', async (t) => {
  const { file, config, dynamic, logger } = setup(t, { LOGIC_CACHE_TTL_MS: 1234 })
  const source = await startDynamicSource({ config, dynamic, logger })
  t.after(async () => { await source?.stop() })
  assert.equal(dynamic.get('LOGIC_CACHE_TTL_MS'), 1234)
  fs.writeFileSync(file, JSON.stringify({ LOGIC_CACHE_TTL_MS: 4321 }))
  await untilValue(dynamic, 'LOGIC_CACHE_TTL_MS', (value) => value === 4321, 'the edit')
})

test('a folder that cannot be watched is a start error naming DYNAMIC_CONFIG_FILE', async () => {
  const logger = pino({ level: 'silent' })
  const config = loadConfig({ env: {}, configDir: os.tmpdir() })
  const dynamic = createDynamicConfig({ config, logger, env: {} })
  const source = createFileSource({ file: path.join(os.tmpdir(), 'no-such-folder-here', 'x.json'), dynamic, logger })
  await assert.rejects(source.start(), /DYNAMIC_CONFIG_FILE/)
})

test('a DYNAMIC_CONFIG_FILE that exists but cannot be read (a folder, a path through a file) is a start error naming it', async (t) => {
  const { dir, dynamic, logger } = setup(t)
  const file = path.join(dir, 'a-file')
  fs.writeFileSync(file, '{}')
  for (const unreadable of [dir, path.join(file, 'x.json')]) {
    const source = createFileSource({ file: unreadable, dynamic, logger })
    await assert.rejects(source.start(), (error: unknown) =>
      error instanceof ConfigError && error.message.startsWith('DYNAMIC_CONFIG_FILE (dynamicConfig.file): cannot read '), unreadable)
    await source.stop()
  }
})

test('once started, a file that becomes unreadable keeps the last values', async (t) => {
  const { file, dynamic, logs, source, reads } = setup(t, { QUALITY_AVIF: 42 })
  await source.start()
  fs.rmSync(file)
  fs.mkdirSync(file)
  await once(reads, 'unreadable', { signal: AbortSignal.timeout(5000) })
  assert.equal(dynamic.get('QUALITY_AVIF'), 42)
  assert.ok(logs.some((entry) => entry.level === 40 && String(entry.msg).includes('cannot read')))
})
