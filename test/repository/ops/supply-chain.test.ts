import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'
import { ROOT, readJson } from './schemas.ts'

interface LockEntry { version?: string, dev?: boolean, deprecated?: string }

/** Lockfile v3 entries npm installs with --omit=dev (not flagged `dev`), keyed by their node_modules path. */
export function deprecatedProductionPackages (lock: { packages: Record<string, LockEntry> }): string[] {
  return Object.entries(lock.packages)
    .filter(([key, entry]) => key !== '' && entry.dev !== true && typeof entry.deprecated === 'string')
    .map(([key, entry]) => `${key.replace(/^.*node_modules\//, '')}@${entry.version ?? '?'}: ${entry.deprecated ?? ''}`)
}

test('no production dependency is a package npm marks deprecated', () => {
  const lock = readJson('package-lock.json') as { lockfileVersion: number, packages: Record<string, LockEntry> }
  assert.equal(lock.lockfileVersion, 3, 'the packages map (with `deprecated`) exists from lockfile v2 on')
  assert.deepEqual(deprecatedProductionPackages(lock), [])
  assert.deepEqual(deprecatedProductionPackages({
    packages: {
      '': {},
      'node_modules/old': { version: '1.0.0', deprecated: 'use new' },
      'node_modules/tool': { version: '2.0.0', dev: true, deprecated: 'dev only' }
    }
  }), ['old@1.0.0: use new'])
})

test('cibuild builds the SBOM of the production dependencies and Travis scans them', () => {
  const scripts = (readJson('package.json') as { scripts: Record<string, string> }).scripts
  assert.match(scripts.sbom ?? '', /cyclonedx-npm .*--omit dev/)
  assert.match(fs.readFileSync(path.join(ROOT, '_script/cibuild'), 'utf8'), /_script\/scan/)
  const travis = parse(fs.readFileSync(path.join(ROOT, '.travis.yml'), 'utf8')) as { stages: string[], jobs: { include: Array<{ stage: string, script: string[] }> } }
  const scan = travis.jobs.include.find((job) => job.stage === 'scan')
  assert.ok(scan !== undefined, 'a scan stage')
  assert.ok(scan.script.some((line) => line === '_script/scan'))
  assert.ok(travis.stages.indexOf('scan') < travis.stages.indexOf('deploy'), 'nothing deploys before the scan passed')
  const script = fs.readFileSync(path.join(ROOT, '_script/scan'), 'utf8')
  assert.match(script, /npm audit --omit=dev --audit-level=high/)
  assert.match(script, /trivy image/)
})
