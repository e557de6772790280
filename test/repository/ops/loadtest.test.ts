import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { ROOT } from './schemas.ts'

// Imports the root locustfile.py with a stand-in `locust` module (the real one is a Python
// dependency the test machine need not have) and prints the host its user class defaults to.
const PROBE = `
import sys, types
locust = types.ModuleType("locust")
class HttpUser: pass
locust.HttpUser = HttpUser
locust.between = lambda low, high: (low, high)
locust.task = lambda weight: (lambda function: function)
sys.modules["locust"] = locust
sys.path.insert(0, sys.argv[1])
import locustfile
print(locustfile.ImageClient.host)
`
const python = spawnSync('python3', ['--version']).status === 0

function defaultHost (env: Record<string, string>): string {
  const { LOCUST_HOST: _ignored, ...inherited } = process.env
  const result = spawnSync('python3', ['-c', PROBE, ROOT], { env: { ...inherited, PYTHONDONTWRITEBYTECODE: '1', ...env }, encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  return result.stdout.trim()
}

test('locustfile.py at the root defaults to LOCUST_HOST, else the local service', { skip: python ? false : 'python3 not installed' }, () => {
  assert.equal(defaultHost({}), 'http://127.0.0.1:8080')
  assert.equal(defaultHost({ LOCUST_HOST: 'https://images.pre.acme.example' }), 'https://images.pre.acme.example')
})

test('the Vegeta targets are kept and point at the local service', () => {
  const targets = fs.readFileSync(path.join(ROOT, 'loadtest/vegeta/targets.txt'), 'utf8').split('\n').filter((line) => line.startsWith('GET '))
  assert.ok(targets.length > 10)
  for (const target of targets) assert.match(target, /^GET http:\/\/127\.0\.0\.1:8080\//)
})
