import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { createDocumentValidator, LISTED_VIOLATIONS, SCHEMAS, validateDocument } from '../../../src/logic/schemas.ts'

test('the files in schemas/ are the schemas in code (run `npm run schemas` after a change)', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const file = path.resolve(import.meta.dirname, `../../../schemas/${name}.json`)
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), schema, name)
  }
})

test('the documented examples are valid', () => {
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

test('without limits every violation is listed (the logic file loader reports them all)', () => {
  const buckets = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`a/b/c${i}`, { rules: { r: { width: 0 } }, adHoc: 'often' }]))
  const errors = validateDocument('logic-file', { buckets })
  assert.equal(errors.length, 600)
  assert.ok(errors.some((e) => e.path === '/buckets/a~1b~1c299/rules/r/width'))
  assert.ok(errors.some((e) => e.path === '/buckets/a~1b~1c299/adHoc'))
})

test('with limits at most maxErrors violations are listed, each path and message shortened to maxLength', () => {
  const rules = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${'x'.repeat(40)}${i}`, { width: 0, height: 0 }]))
  const errors = validateDocument('bucket-logic', { rules }, { maxErrors: 7, maxLength: 30 })
  assert.equal(errors.length, 7)
  for (const { path, message } of errors) {
    assert.ok(path.length <= 30 && message.length <= 30, `${path} ${message}`)
    assert.ok(path.startsWith('/rules/xxx') && path.endsWith('…'), path)
  }
  assert.deepEqual(LISTED_VIOLATIONS, { maxErrors: 100, maxLength: 512 })
})

test('a cacheControl must be printable ASCII: no CR, LF or other control characters', () => {
  for (const cacheControl of ['public\r\nX-Injected: 1', 'public\n', '\u0007', 'max-age=60\u007f', 'public, max-age=60\u2028']) {
    assert.deepEqual(validateDocument('bucket-logic', { cacheControl }).map((e) => e.path), ['/cacheControl'], JSON.stringify(cacheControl))
  }
  assert.deepEqual(validateDocument('bucket-logic', { cacheControl: 'private, no-cache="set-cookie"' }), [])
  assert.deepEqual(validateDocument('bucket-logic', { cacheControl: null }), [])
})

test('the validation thread parses and checks texts, each answer to its own text, and starts again after close', async (t) => {
  const validator = createDocumentValidator({ maxErrors: 3, maxLength: 100 })
  t.after(async () => { await validator.close() })
  assert.deepEqual(await validator.check('bucket-logic', '{rules:'), { json: false })
  assert.deepEqual(await validator.check('transformation', '{"width":10}'), { json: true, violations: [] })
  const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => await validator.check('transformation', JSON.stringify({ [`p${i}`]: 1 }))))
  answers.forEach((answer, i) => {
    assert.deepEqual(answer, { json: true, violations: [{ path: '/', message: `must NOT have additional properties: 'p${i}'` }] })
  })
  const many = await validator.check('bucket-logic', JSON.stringify({ a: 1, b: 2, c: 3, d: 4, e: 5 }))
  assert.equal(many.json && many.violations.length, 3)
  await validator.close()
  assert.deepEqual(await validator.check('transformation', '{}'), { json: true, violations: [] })
})
