import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { resolveTransformation } from '../../../src/delivery/resolve-transformation.ts'
import type { ImageQuery } from '../../../src/delivery/image-query.ts'
import type { BucketLogic } from '../../../src/logic/bucket-logic.ts'
import { isDeliveryError } from '../../../src/errors.ts'

const query = (fields: Partial<ImageQuery>): ImageQuery => ({ transformation: {}, isAdHoc: false, info: false, rawPairs: [], ...fields })
const LOGIC: BucketLogic = { rules: { thumb: { width: 100, format: 'webp' } }, defaultRule: 'thumb', adHoc: 'allow' }
const never = (): boolean => { throw new Error('the signature must not be checked') }

function code (run: () => unknown): string | undefined {
  try {
    run()
    return undefined
  } catch (error) {
    return isDeliveryError(error) ? error.code : 'not a DeliveryError'
  }
}

describe('resolveTransformation: rule, ad-hoc or default', () => {
  test('a rule with its dpr/fm overrides wins over the rule\'s own values', () => {
    assert.deepEqual(resolveTransformation(query({ rule: 'thumb', transformation: { dpr: 2, format: 'avif' } }), LOGIC, never), { width: 100, format: 'avif', dpr: 2 })
  })

  test('an unknown rule, or a name inherited from Object.prototype, is RULE_NOT_FOUND', () => {
    assert.equal(code(() => resolveTransformation(query({ rule: 'hero' }), LOGIC, never)), 'RULE_NOT_FOUND')
    assert.equal(code(() => resolveTransformation(query({ rule: 'constructor' }), LOGIC, never)), 'RULE_NOT_FOUND')
  })

  test('ad-hoc parameters follow the bucket policy; the signature is checked only when it is signed', () => {
    const adHoc = query({ isAdHoc: true, transformation: { width: 50 } })
    assert.deepEqual(resolveTransformation(adHoc, LOGIC, never), { width: 50 })
    assert.equal(code(() => resolveTransformation(adHoc, { ...LOGIC, adHoc: 'deny' }, never)), 'ADHOC_NOT_ALLOWED')
    assert.equal(code(() => resolveTransformation(adHoc, { ...LOGIC, adHoc: 'signed' }, () => false)), 'INVALID_SIGNATURE')
    assert.deepEqual(resolveTransformation(adHoc, { ...LOGIC, adHoc: 'signed' }, () => true), { width: 50 })
  })

  test('no rule and no parameter: the default rule by name or inline, else nothing (passthrough)', () => {
    assert.deepEqual(resolveTransformation(query({}), LOGIC, never), { width: 100, format: 'webp' })
    assert.deepEqual(resolveTransformation(query({}), { defaultRule: { height: 20 } }, never), { height: 20 })
    assert.deepEqual(resolveTransformation(query({}), { defaultRule: null }, never), {})
  })
})
