import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseImageQuery } from '../../../src/http/query.ts'
import { DeliveryError } from '../../../src/errors.ts'

const context = { maxOutputDimension: 8192 }

test('parses every ad-hoc parameter into the JSON form', () => {
  const query = parseImageQuery('w=400&h=300&dpr=1.5&fit=contain&pos=attention&fp=0.3,0.6&enlarge=1&fm=webp&q=70&lossless=0&progressive=1&blur=2.5&sharpen=1&rot=90&flip=hv&bg=%23ff00aa&wm=1', context)
  assert.deepEqual(query.transformation, {
    width: 400, height: 300, dpr: 1.5, fit: 'contain', position: 'attention', focalPoint: [0.3, 0.6], enlarge: true, format: 'webp',
    quality: 70, lossless: false, progressive: true, blur: 2.5, sharpen: true, rotate: 90, flip: 'hv', background: '#ff00aa', watermark: true
  })
  assert.equal(query.isAdHoc, true)
})

test('a rule with dpr and fm is not ad-hoc; the signature is kept apart from the signed pairs', () => {
  const query = parseImageQuery('rule=thumb&dpr=2&fm=auto&s=abc', context)
  assert.equal(query.rule, 'thumb')
  assert.equal(query.isAdHoc, false)
  assert.equal(query.signature, 'abc')
  assert.deepEqual(query.rawPairs, [['rule', 'thumb'], ['dpr', '2'], ['fm', 'auto']])
})

test('raw values are kept as sent for signatures', () => {
  const query = parseImageQuery('bg=%23FFF&w=10', context)
  assert.deepEqual(query.rawPairs, [['bg', '%23FFF'], ['w', '10']])
  assert.equal(query.transformation.background, '#FFF')
})

test('an empty query asks for nothing', () => {
  const query = parseImageQuery('', context)
  assert.deepEqual(query.transformation, {})
  assert.equal(query.isAdHoc, false)
})

test('rejects with INVALID_PARAMETER naming the parameter', () => {
  for (const [raw, name] of [['w=1.5', 'w'], ['rule=a/b', 'rule'], ['%zz=1', '%zz'], ['q=%zz', 'q'], ['fm=auto&fm=jpeg', 'fm']] as const) {
    assert.throws(() => parseImageQuery(raw, context), (error: unknown) =>
      error instanceof DeliveryError && error.code === 'INVALID_PARAMETER' && error.message.includes(`'${name}'`), raw)
  }
})
