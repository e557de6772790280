import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeliveryError, ERROR_DEFINITIONS, type ErrorCode } from '../../src/errors.ts'

/**
 * The status table, copied as the contract, with the two answers of the HTTP layer:
 * 408 for clients cut off by the server timeouts, 413 for a schema body over its limit.
 */
const SPEC_CODES: Record<number, string[]> = {
  400: ['INVALID_PARAMETER', 'INVALID_IMAGE_ID'],
  403: ['ADHOC_NOT_ALLOWED', 'INVALID_SIGNATURE'],
  404: ['IMAGE_NOT_FOUND', 'RULE_NOT_FOUND', 'BUCKET_NOT_FOUND', 'ALIAS_NOT_FOUND'],
  408: ['REQUEST_TIMEOUT'],
  413: ['SOURCE_TOO_LARGE', 'BODY_TOO_LARGE'],
  415: ['UNSUPPORTED_SOURCE'],
  422: ['SOURCE_TOO_MANY_PIXELS'],
  451: ['IMAGE_TAKEN_DOWN'],
  502: ['UPSTREAM_ERROR'],
  503: ['OVERLOADED', 'DEPENDENCY_UNAVAILABLE', 'SHUTTING_DOWN'],
  504: ['UPSTREAM_TIMEOUT', 'TRANSFORM_TIMEOUT']
}

test('the registry and the contract status table agree in both directions', () => {
  const specCodes = new Set<string>()
  for (const [status, codes] of Object.entries(SPEC_CODES)) {
    for (const code of codes) {
      specCodes.add(code)
      assert.equal(ERROR_DEFINITIONS[code as ErrorCode].status, Number(status), code)
      assert.equal(new DeliveryError(code as ErrorCode).statusCode, Number(status))
    }
  }
  // Outside the table: the generic 500 for unexpected failures, and the 499 no client ever receives.
  const extra = Object.keys(ERROR_DEFINITIONS).filter((code) => !specCodes.has(code))
  assert.deepEqual(extra, ['CLIENT_CLOSED_REQUEST', 'INTERNAL_ERROR'])
})

test('client errors are not reported, server-side ones are', () => {
  assert.equal(new DeliveryError('IMAGE_NOT_FOUND').report, false)
  assert.equal(new DeliveryError('UPSTREAM_ERROR').report, true)
})
