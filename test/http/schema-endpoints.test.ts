import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { buildTestApp } from '../helpers/build-app.ts'

describe('schema endpoints (SPEC §4)', () => {
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
})
