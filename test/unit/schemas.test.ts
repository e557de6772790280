import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { SCHEMAS, validateDocument } from '../../src/logic/schemas.ts'

test('the files in schemas/ are the schemas in code (run `npm run schemas` after a change)', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const file = path.resolve(import.meta.dirname, `../../schemas/${name}.json`)
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), schema, name)
  }
})

test('the SPEC §4 examples are valid', () => {
  const transformation = {
    width: 400, height: 300, fit: 'cover', position: 'attention', focalPoint: [0.3, 0.6], enlarge: false, dpr: 1, format: 'webp',
    quality: 80, lossless: false, progressive: true, blur: 0, sharpen: false, rotate: 0, flip: null, background: '#ffffff', watermark: true
  }
  assert.deepEqual(validateDocument('transformation', transformation), [])
  const logic = {
    rules: { largeDevice155: { width: 1550, format: 'auto', quality: 80 }, progressive: { format: 'jpeg', progressive: true } },
    defaultRule: null,
    watermark: { required: false, position: 'southeast', opacity: 0.6, widthRatio: 0.2, margin: 0.02 },
    cacheControl: 'public, max-age=86400',
    adHoc: 'allow'
  }
  assert.deepEqual(validateDocument('bucket-logic', logic), [])
})

test('every violation is reported with its JSON pointer', () => {
  const errors = validateDocument('bucket-logic', { rules: { a: { width: 0, fit: 'nope' }, b: { quality: 101 } }, adHoc: 'maybe', extra: 1 })
  const paths = errors.map((e) => e.path)
  for (const expected of ['/rules/a/width', '/rules/a/fit', '/rules/b/quality', '/adHoc', '/']) assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`)
})
