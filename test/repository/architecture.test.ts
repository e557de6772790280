import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser'
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options'

/**
 * The architecture of `.dependency-cruiser.cjs` holds: layers import downwards only, no cycle,
 * sharp, fastify, opossum and the AWS SDK only where they belong, and nothing that ships imports
 * from test/. The second test proves the rules catch what they are meant to.
 */
const REPO = path.resolve(import.meta.dirname, '../..')

async function violations (baseDir: string, roots: string[]): Promise<IViolation[]> {
  const options = await extractDepcruiseOptions(path.join(REPO, '.dependency-cruiser.cjs'))
  const cwd = process.cwd()
  // dependency-cruiser resolves the roots and reports paths relative to the working directory.
  process.chdir(baseDir)
  try {
    const { output } = await cruise(roots, { ...options, validate: true })
    return (output as ICruiseResult).summary.violations
  } finally {
    process.chdir(cwd)
  }
}

function describe (found: IViolation[]): string {
  return found.map((violation) => `${violation.rule.name}: ${violation.from} -> ${violation.to}${violation.cycle === undefined ? '' : ` (cycle ${violation.cycle.map((step) => step.name).join(' -> ')})`}`).join('\n')
}

test('the tree keeps its layers: no upward import, no cycle, libraries where they belong, no test code in production', async () => {
  const found = await violations(REPO, ['src', 'scripts', 'infra', 'bench'])
  assert.deepEqual(found, [], describe(found))
})

test('the rules fail on a deliberately wrong tree', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layers-'))
  t.after(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  const files: Record<string, string> = {
    // An origin reaching up into HTTP, a cycle inside transform/, sharp outside transform/, a script using a test fixture.
    'src/origins/reader.ts': "import { route } from '../http/route.ts'\nexport const reader = route\n",
    'src/http/route.ts': 'export const route = 1\n',
    'src/transform/a.ts': "import { b } from './b.ts'\nexport const a = b\n",
    'src/transform/b.ts': "import { a } from './a.ts'\nexport const b = a\n",
    'src/cache/thumbs.ts': "import sharp from 'sharp'\nexport const thumbs = sharp\n",
    'scripts/stack.ts': "import { peer } from '../test/helpers/peer.ts'\nexport const stack = peer\n",
    'test/helpers/peer.ts': 'export const peer = 1\n',
    'node_modules/sharp/package.json': '{"name":"sharp","main":"index.js"}\n',
    'node_modules/sharp/index.js': 'module.exports = {}\n'
  }
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  const found = await violations(dir, ['src', 'scripts'])
  const rules = [...new Set(found.map((violation) => violation.rule.name))].sort()
  assert.deepEqual(rules, ['no-circular', 'no-upward-from-domain', 'only-sharp-where-allowed', 'production-not-from-test'], describe(found))
  assert.ok(found.some((violation) => violation.from === 'src/origins/reader.ts' && violation.to === 'src/http/route.ts'), describe(found))
})
