// eureka-js-client depends on the deprecated `request`, which pulls tough-cookie@2 (CVE-2023-26136,
// prototype pollution) and form-data@2 (CVE-2025-7783, predictable multipart boundary). package.json
// overrides `request` with its maintained fork @cypress/request; these tests read package-lock.json
// (no network) so that no install brings the vulnerable packages back into production.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'

interface LockEntry { name?: string, version?: string, dev?: boolean }

const ROOT = path.resolve(import.meta.dirname, '../..')
const lock = JSON.parse(await fs.readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }

// Installed production packages: the real name (an alias keeps it in `name`) and the version.
const production = Object.entries(lock.packages)
  .filter(([location, entry]) => location !== '' && entry.dev !== true)
  .map(([location, entry]) => ({ location, name: entry.name ?? location.slice(location.lastIndexOf('node_modules/') + 13), version: entry.version ?? '' }))

function below (version: string, fixed: string): boolean {
  const [a, b] = [version, fixed].map((text) => text.split(/[.+-]/).slice(0, 3).map(Number))
  const index = a?.findIndex((part, i) => part !== b?.[i]) ?? -1
  return index !== -1 && (a?.[index] ?? 0) < (b?.[index] ?? 0)
}

function vulnerable (name: string, version: string): boolean {
  const major = Number(version.split('.')[0])
  switch (name) {
    case 'request': return true
    case 'tough-cookie': return below(version, '4.1.3')
    // Fixed in 2.5.4, 3.0.4 and 4.0.4.
    case 'form-data': return major < 3 ? below(version, '2.5.4') : major === 3 ? below(version, '3.0.4') : major === 4 && below(version, '4.0.4')
    default: return false
  }
}

test('the version check agrees with the advisories', () => {
  assert.ok(vulnerable('form-data', '2.3.3') && vulnerable('form-data', '3.0.3') && vulnerable('form-data', '4.0.3'))
  assert.ok(!vulnerable('form-data', '2.5.4') && !vulnerable('form-data', '3.0.4') && !vulnerable('form-data', '4.0.4') && !vulnerable('form-data', '4.0.10'))
  assert.ok(vulnerable('tough-cookie', '2.5.0') && vulnerable('tough-cookie', '4.1.2') && !vulnerable('tough-cookie', '5.1.2'))
  assert.ok(vulnerable('request', '2.88.2') && !vulnerable('@cypress/request', '3.0.10'))
})

test('no production package in the lock is request, tough-cookie < 4.1.3 or a vulnerable form-data', () => {
  const found = production.filter((entry) => vulnerable(entry.name, entry.version)).map((entry) => `${entry.location} ${entry.name}@${entry.version}`)
  assert.deepEqual(found, [])
  // Not vacuous: the Eureka client and its HTTP stack are in the production tree.
  const names = new Set(production.map((entry) => entry.name))
  for (const name of ['eureka-js-client', '@cypress/request', 'tough-cookie', 'form-data']) assert.ok(names.has(name), `${name} in the lock`)
})
