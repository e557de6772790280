import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

const main = path.resolve(import.meta.dirname, '../../src/main.ts')

function start (env: Record<string, string>) {
  return spawnSync(process.execPath, [main], {
    env: { ...process.env, STATSD_ENABLED: 'false', PORT: '0', ADMIN_PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 20000
  })
}

test('a broken logic file stops the start with the bad path named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-start-'))
  const file = path.join(dir, 'logic.json')
  fs.writeFileSync(file, JSON.stringify({ buckets: { 'a/b/c': { rules: { big: { width: -1 } }, adHoc: 'often' } } }))
  const result = start({ LOGIC_FILE: file })
  assert.equal(result.status, 78)
  assert.match(result.stderr, /\/buckets\/a~1b~1c\/rules\/big\/width/)
  assert.match(result.stderr, /\/buckets\/a~1b~1c\/adHoc/)
  fs.rmSync(dir, { recursive: true })
})

test('a bad configuration value stops the start naming the variable', () => {
  const result = start({ LIMITS_MAX_QUEUE: 'many' })
  assert.equal(result.status, 78)
  assert.match(result.stderr, /LIMITS_MAX_QUEUE/)
})

test('a short signing key, a CR/LF in CACHE_CONTROL_DEFAULT or headers allowed longer than the request stop the start', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ SIGNING_KEYS: '{"acme/news":["a-good-key-16-bytes","s3cret"]}' }, 'SIGNING_KEYS'],
    [{ CACHE_CONTROL_DEFAULT: 'public\r\nSet-Cookie: a=b' }, 'CACHE_CONTROL_DEFAULT'],
    [{ SERVER_HEADERS_TIMEOUT_MS: '5000', SERVER_REQUEST_TIMEOUT_MS: '1000' }, 'SERVER_HEADERS_TIMEOUT_MS']
  ]
  for (const [env, variable] of cases) {
    const result = start(env)
    assert.equal(result.status, 78, variable)
    assert.match(result.stderr, new RegExp(variable))
    assert.doesNotMatch(result.stderr, /s3cret/)
  }
})

test('a DYNAMIC_CONFIG_FILE that cannot be watched or read stops the start with one line naming it, no stack', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-start-'))
  const file = path.join(dir, 'a-file.json')
  fs.writeFileSync(file, '{}')
  const cases: Array<[string, string]> = [
    ['a missing folder', path.join(dir, 'no-such-folder', 'dynamic.json')],
    ['a folder instead of a file', dir],
    ['a path through a file', path.join(file, 'dynamic.json')]
  ]
  for (const [label, value] of cases) {
    const result = start({ DYNAMIC_CONFIG_SOURCE: 'file', DYNAMIC_CONFIG_FILE: value })
    assert.equal(result.status, 78, label)
    const lines = result.stderr.split('\n').filter((line) => line !== '')
    assert.equal(lines.length, 1, `${label}: ${result.stderr}`)
    assert.match(lines[0] ?? '', /^DYNAMIC_CONFIG_FILE \(dynamicConfig\.file\): cannot (watch|read) /, label)
    assert.doesNotMatch(result.stderr, /^\s+at /m, label)
  }
  fs.rmSync(dir, { recursive: true })
})

test('DYNAMIC_CONFIG_SOURCE=file without DYNAMIC_CONFIG_FILE, or a CONFIG_FILE that cannot be read, stops the start naming the variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ DYNAMIC_CONFIG_SOURCE: 'file' }, /^DYNAMIC_CONFIG_FILE \(dynamicConfig\.file\): is required/],
    [{ CONFIG_FILE: path.join(os.tmpdir(), 'delivery-images-no-such-config.json') }, /^CONFIG_FILE \(configFile\): cannot load /]
  ]
  for (const [env, message] of cases) {
    const result = start(env)
    assert.equal(result.status, 78, JSON.stringify(env))
    assert.match(result.stderr, message)
    assert.doesNotMatch(result.stderr, /^\s+at /m)
  }
})
