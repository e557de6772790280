import assert from 'node:assert/strict'
import { test } from 'node:test'
import { missingWatermark, watermarkNeed } from '../../../src/delivery/watermark-policy.ts'
import type { ImageQuery } from '../../../src/delivery/image-query.ts'
import { DEFAULT_PLACEMENT } from '../../../src/transform/watermark.ts'

const adHoc: ImageQuery = { transformation: { watermark: true }, isAdHoc: true, info: false, rawPairs: [] }
const byRule: ImageQuery = { rule: 'marked', transformation: {}, isAdHoc: false, info: false, rawPairs: [] }

test('a required watermark applies whatever the request says, unless the kill switch is off', () => {
  const logic = { watermark: { required: true, position: 'north' as const } }
  assert.deepEqual(watermarkNeed({ watermark: false }, byRule, logic, true), {
    wanted: true, placement: { ...DEFAULT_PLACEMENT, position: 'north' }, whenMissing: 'logic'
  })
  assert.deepEqual(watermarkNeed({}, adHoc, logic, false), { wanted: false })
})

test('otherwise the transformation asks; only wm=1 alone makes a missing watermark the client\'s mistake', () => {
  assert.deepEqual(watermarkNeed({}, byRule, {}, true), { wanted: false })
  assert.equal(watermarkNeed({ watermark: true }, adHoc, {}, true).wanted, true)
  const fromQuery = watermarkNeed({ watermark: true }, adHoc, {}, true)
  const fromRule = watermarkNeed({ watermark: true }, byRule, {}, true)
  assert.ok(fromQuery.wanted && fromRule.wanted)
  assert.equal(fromQuery.whenMissing, 'client')
  assert.equal(fromRule.whenMissing, 'logic')
  assert.equal(missingWatermark('client', { tenant: 't', domain: 'd', bucket: 'b' }).statusCode, 400)
  assert.equal(missingWatermark('logic', { tenant: 't', domain: 'd', bucket: 'b' }).statusCode, 502)
})
