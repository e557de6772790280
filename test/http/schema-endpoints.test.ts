import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { buildTestApp } from '../helpers/build-app.ts'

describe('schema endpoints', () => {
  test('GET /schemas/<file>.json serves each schema', async (t) => {
    const testApp = await buildTestApp(t)
    for (const name of ['transformation', 'bucket-logic', 'logic-file']) {
      const response = await testApp.server.inject(`/schemas/${name}.json`)
      assert.equal(response.statusCode, 200)
      assert.match(String(response.headers['content-type']), /json/)
      assert.equal(response.json<{ $id: string }>().$id, `${name}.json`)
    }
    assert.equal((await testApp.server.inject('/schemas/nope.json')).statusCode, 400)
  })

  test('a valid document is 200 {"valid":true}', async (t) => {
    const testApp = await buildTestApp(t)
    const response = await testApp.server.inject({
      method: 'POST', url: '/schema/validate', payload: { rules: { thumb: { width: 100, format: 'auto' } }, adHoc: 'signed' }
    })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { valid: true })
    const transformation = await testApp.server.inject({ method: 'POST', url: '/schema/validate?schema=transformation', payload: { width: 10, fit: 'contain' } })
    assert.deepEqual(transformation.json(), { valid: true })
  })

  test('every error is reported at once with its JSON pointer', async (t) => {
    const testApp = await buildTestApp(t)
    const response = await testApp.server.inject({
      method: 'POST',
      url: '/schema/validate?schema=bucket-logic',
      payload: { rules: { x: { width: 0 }, y: { format: 'bmp', quality: 500 } }, adHoc: 'sometimes' }
    })
    assert.equal(response.statusCode, 422)
    const body = response.json<{ valid: boolean, errors: Array<{ path: string, message: string }> }>()
    assert.equal(body.valid, false)
    const paths = body.errors.map((e) => e.path)
    for (const path of ['/rules/x/width', '/rules/y/format', '/rules/y/quality', '/adHoc']) assert.ok(paths.includes(path), path)
    assert.ok(body.errors.every((e) => e.message.length > 0))
  })

  test('a body that is not JSON is 400; an unknown schema is 400', async (t) => {
    const testApp = await buildTestApp(t)
    const notJson = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: '{rules:', headers: { 'content-type': 'application/json' } })
    assert.equal(notJson.statusCode, 400)
    assert.equal(notJson.json<{ error: { code: string } }>().error.code, 'INVALID_PARAMETER')
    const plainText = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: 'hello', headers: { 'content-type': 'text/plain' } })
    assert.equal(plainText.statusCode, 400)
    const empty = await testApp.server.inject({ method: 'POST', url: '/schema/validate' })
    assert.equal(empty.statusCode, 400)
    const unknown = await testApp.server.inject({ method: 'POST', url: '/schema/validate?schema=other', payload: {} })
    assert.equal(unknown.statusCode, 400)
  })

  test('a body over SCHEMA_VALIDATE_MAX_BYTES (256 KiB by default) is 413 BODY_TOO_LARGE in the error shape', async (t) => {
    const testApp = await buildTestApp(t)
    const padded = (bytes: number): string => '{}'.padEnd(bytes, ' ')
    const atLimit = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: padded(262144), headers: { 'content-type': 'application/json' } })
    assert.equal(atLimit.statusCode, 200)
    const over = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: padded(262145), headers: { 'content-type': 'application/json' } })
    assert.equal(over.statusCode, 413)
    assert.equal(over.headers['cache-control'], 'no-store')
    const { error } = over.json<{ error: { code: string, message: string, requestId: string } }>()
    assert.equal(error.code, 'BODY_TOO_LARGE')
    assert.equal(error.requestId, over.headers['x-request-id'])
    assert.ok(error.message.length > 0)
  })

  test('SCHEMA_VALIDATE_MAX_BYTES sets the limit, also for a body without a Content-Length', async (t) => {
    const testApp = await buildTestApp(t, { env: { SCHEMA_VALIDATE_MAX_BYTES: '1024' } })
    const small = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: '{}'.padEnd(1024, ' ') })
    assert.equal(small.statusCode, 200)
    const large = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: '{}'.padEnd(1025, ' ') })
    assert.equal(large.statusCode, 413)
    // A stream is sent without a Content-Length: the limit is enforced on the bytes as they come.
    const streamed = await testApp.server.inject({
      method: 'POST', url: '/schema/validate', payload: Readable.from([Buffer.alloc(600, ' '), Buffer.alloc(600, ' ')]), headers: { 'content-type': 'application/json' }
    })
    assert.equal(streamed.statusCode, 413)
    assert.equal(streamed.json<{ error: { code: string } }>().error.code, 'BODY_TOO_LARGE')
  })

  test('at most 100 errors are listed, and a long property name is not repeated in full', async (t) => {
    const testApp = await buildTestApp(t)
    const rules = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`r${i}`, { width: 0, format: 'bmp' }]))
    const many = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: { rules } })
    assert.equal(many.statusCode, 422)
    const manyErrors = many.json<{ errors: Array<{ path: string }> }>().errors
    assert.equal(manyErrors.length, 100)
    assert.equal(manyErrors[0]?.path, '/rules/r0/width')

    const name = 'n'.repeat(100000)
    const long = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: { rules: { [name]: { width: 0, height: 0, dpr: 0, quality: 0 } }, [name]: 1 } })
    assert.equal(long.statusCode, 422)
    const longErrors = long.json<{ errors: Array<{ path: string, message: string }> }>().errors
    assert.ok(longErrors.length >= 5)
    for (const { path, message } of longErrors) assert.ok(path.length <= 512 && message.length <= 512, `${path.length} ${message.length}`)
    assert.ok(long.body.length < 20000, `${long.body.length} bytes`)
  })

  test('a cacheControl with CR, LF or another control character is invalid', async (t) => {
    const testApp = await buildTestApp(t)
    for (const cacheControl of ['public\r\nSet-Cookie: a=b', 'public\nx', 'max-age=60\u0000', 'tab\there', 'caf\u00e9']) {
      const response = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: { cacheControl } })
      assert.equal(response.statusCode, 422, JSON.stringify(cacheControl))
      assert.deepEqual(response.json<{ errors: Array<{ path: string }> }>().errors.map((e) => e.path), ['/cacheControl'])
    }
    const fine = await testApp.server.inject({ method: 'POST', url: '/schema/validate', payload: { cacheControl: 'public, max-age=60, stale-while-revalidate=30' } })
    assert.equal(fine.statusCode, 200)
  })
})
