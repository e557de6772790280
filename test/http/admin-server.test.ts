import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import pino from 'pino'
import { bindDynamicConfig, createDynamicConfig } from '../../src/config/dynamic.ts'
import { loadConfig } from '../../src/config/load.ts'
import { buildAdminServer } from '../../src/http/admin/admin-server.ts'
import { createBreakers } from '../../src/resilience/breakers.ts'

const TOKEN = 'correct-horse-battery-staple'

async function setup (t: TestContext, env: Record<string, string> = {}) {
  const logger = pino({ level: 'silent' })
  const config = loadConfig({ env, configDir: path.join(os.tmpdir(), 'delivery-images-none') })
  const dynamic = createDynamicConfig({ config, logger, env })
  const breakers = createBreakers(config.breakers)
  bindDynamicConfig(dynamic, { breakers })
  const admin = buildAdminServer({ config, dynamic, breakers, logger })
  t.after(async () => {
    await admin.close()
    for (const breaker of Object.values(breakers)) breaker.circuit.shutdown()
  })
  await admin.ready()
  return { admin, dynamic, breakers }
}

interface PutRequest { method: 'PUT', url: string, headers: Record<string, string>, payload: Record<string, unknown> }

function put (key: string, value: unknown, authorization?: string): PutRequest {
  return {
    method: 'PUT',
    url: `/admin/config/${key}`,
    headers: authorization === undefined ? {} : { authorization },
    payload: { value }
  }
}

test('the index page links the admin endpoints', async (t) => {
  const { admin } = await setup(t)
  const response = await admin.inject({ url: '/admin' })
  assert.equal(response.statusCode, 200)
  assert.match(response.headers['content-type'] ?? '', /^text\/html/)
  assert.match(response.body, /href="\/admin\/config"/)
  assert.match(response.body, /href="\/admin\/breakers"/)
})

test('GET /admin/config shows every value with its source and redacts secrets', async (t) => {
  const { admin, dynamic } = await setup(t, { ADMIN_TOKEN: TOKEN, SIGNING_KEYS: '{"acme/news":["k-new-0123456789abcdef","k-old-0123456789abcdef"]}', LIMITS_MAX_QUEUE: '7' })
  dynamic.apply({ QUALITY_JPEG: '72' }, 'dynamodb')
  const response = await admin.inject({ url: '/admin/config' })
  assert.equal(response.statusCode, 200)
  const { properties } = response.json<{ properties: Record<string, { value: unknown, source: string, dynamic: boolean, layer?: string }> }>()
  assert.deepEqual(properties.LIMITS_MAX_QUEUE, { path: 'limits.maxQueue', value: 7, source: 'env', dynamic: true })
  assert.deepEqual(properties.QUALITY_JPEG, { path: 'quality.jpeg', value: 72, source: 'dynamic', layer: 'dynamodb', dynamic: true })
  assert.equal(properties.PORT?.source, 'default')
  assert.equal(properties.PORT?.dynamic, false)
  assert.equal(properties.ADMIN_TOKEN?.value, '[redacted]')
  assert.equal(properties.SIGNING_KEYS?.value, '[redacted]')
  assert.doesNotMatch(response.body, new RegExp(`${TOKEN}|k-new|k-old`))
})

test('GET /admin/breakers lists the four breakers with state and live settings', async (t) => {
  const { admin, dynamic, breakers } = await setup(t)
  dynamic.set('BREAKER_ALIAS_TIMEOUT_MS', 250, 'admin')
  breakers.origin.circuit.open()
  const response = await admin.inject({ url: '/admin/breakers' })
  assert.equal(response.statusCode, 200)
  const body = response.json<{ breakers: Array<{ key: string, name: string, state: string, settings: { timeoutMs: number }, stats: Record<string, unknown> }> }>()
  const byKey = new Map(body.breakers.map((breaker) => [breaker.key, breaker]))
  assert.deepEqual([...byKey.keys()].sort(), ['alias', 'logic', 'origin', 'watermark'])
  assert.equal(byKey.get('alias')?.name, 'DeliveryImages#GetResourceByAliasFromTranslator')
  assert.equal(byKey.get('alias')?.settings.timeoutMs, 250)
  assert.equal(byKey.get('alias')?.state, 'CLOSED')
  assert.equal(byKey.get('origin')?.state, 'OPEN')
  assert.equal(typeof byKey.get('logic')?.stats.fires, 'number')
})

test('without ADMIN_TOKEN the admin port is read-only: every PUT is a 403', async (t) => {
  const { admin, dynamic } = await setup(t)
  for (const authorization of [undefined, 'Bearer anything', 'Bearer ']) {
    const response = await admin.inject(put('LIMITS_MAX_QUEUE', 1, authorization))
    assert.equal(response.statusCode, 403)
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'READ_ONLY')
  }
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 64)
})

test('a missing or wrong bearer token is a 401 and changes nothing', async (t) => {
  const { admin, dynamic } = await setup(t, { ADMIN_TOKEN: TOKEN })
  for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN}x`]) {
    const response = await admin.inject(put('LIMITS_MAX_QUEUE', 1, authorization))
    assert.equal(response.statusCode, 401, String(authorization))
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'UNAUTHORIZED')
    assert.match(response.headers['www-authenticate'] as string, /^Bearer/)
  }
  const unauthenticatedBadBody = await admin.inject({ method: 'PUT', url: '/admin/config/LIMITS_MAX_QUEUE', payload: {} })
  assert.equal(unauthenticatedBadBody.statusCode, 401)
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 64)
})

test('with the token a PUT changes a dynamic property live, and null removes the override', async (t) => {
  const { admin, dynamic } = await setup(t, { ADMIN_TOKEN: TOKEN })
  const response = await admin.inject(put('BREAKER_LOGIC_TIMEOUT_MS', '300', `Bearer ${TOKEN}`))
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { key: 'BREAKER_LOGIC_TIMEOUT_MS', value: 300, previous: 1000 })
  assert.equal(dynamic.get('BREAKER_LOGIC_TIMEOUT_MS'), 300)
  const breakers = (await admin.inject({ url: '/admin/breakers' })).json<{ breakers: Array<{ key: string, settings: { timeoutMs: number } }> }>()
  assert.equal(breakers.breakers.find((breaker) => breaker.key === 'logic')?.settings.timeoutMs, 300)
  const config = (await admin.inject({ url: '/admin/config' })).json<{ properties: Record<string, { source: string, layer?: string }> }>()
  assert.equal(config.properties.BREAKER_LOGIC_TIMEOUT_MS?.layer, 'admin')

  const cleared = await admin.inject(put('BREAKER_LOGIC_TIMEOUT_MS', null, `bearer ${TOKEN}`))
  assert.equal(cleared.statusCode, 200)
  assert.equal(dynamic.get('BREAKER_LOGIC_TIMEOUT_MS'), 1000)
})

test('PUT refuses static, unknown and invalid properties and malformed bodies', async (t) => {
  const { admin, dynamic } = await setup(t, { ADMIN_TOKEN: TOKEN })
  const auth = `Bearer ${TOKEN}`
  const cases: Array<[PutRequest, number, string]> = [
    [put('PORT', 9000, auth), 400, 'NOT_DYNAMIC'],
    [put('NO_SUCH_THING', 1, auth), 404, 'UNKNOWN_PROPERTY'],
    [put('LIMITS_MAX_QUEUE', -3, auth), 400, 'INVALID_VALUE'],
    [put('AVIF_ENABLED', 'nope', auth), 400, 'INVALID_VALUE'],
    [put('LOG_LEVEL', { level: 'debug' }, auth), 400, 'INVALID_VALUE'],
    [{ method: 'PUT', url: '/admin/config/LIMITS_MAX_QUEUE', headers: { authorization: auth }, payload: { other: 1 } }, 400, 'INVALID_REQUEST']
  ]
  for (const [request, status, code] of cases) {
    const response = await admin.inject(request)
    assert.equal(response.statusCode, status, request.url)
    assert.equal(response.json<{ error: { code: string } }>().error.code, code, request.url)
  }
  const invalidJson = await admin.inject({ method: 'PUT', url: '/admin/config/LIMITS_MAX_QUEUE', headers: { authorization: auth, 'content-type': 'application/json' }, payload: '{"value":' })
  assert.equal(invalidJson.statusCode, 400)
  assert.equal(dynamic.get('LIMITS_MAX_QUEUE'), 64)
  assert.equal(dynamic.get('AVIF_ENABLED'), true)
})

test('the admin server listens on its own socket and serves only /admin routes', async (t) => {
  const { admin } = await setup(t)
  const address = await admin.listen({ port: 0, host: '127.0.0.1' })
  const config = await fetch(`${address}/admin/config`)
  assert.equal(config.status, 200)
  const image = await fetch(`${address}/tenants/acme/domains/news/buckets/photos/images/a.jpg`)
  assert.equal(image.status, 404)
  assert.equal((await image.json() as { error: { code: string } }).error.code, 'NOT_FOUND')
})

test('authorisation is checked before the body is parsed', async (t) => {
  const { admin } = await setup(t, { ADMIN_TOKEN: TOKEN })
  const response = await admin.inject({ method: 'PUT', url: '/admin/config/LIMITS_MAX_QUEUE', headers: { 'content-type': 'application/json' }, payload: '{"value":' })
  assert.equal(response.statusCode, 401)
})

test('POST /admin/purge is listed, and on a server without purges it is a 404 after authorisation', async (t) => {
  const { admin } = await setup(t, { ADMIN_TOKEN: TOKEN })
  assert.match((await admin.inject({ url: '/admin' })).body, /POST \/admin\/purge/)
  const payload = { tenant: 'acme', domain: 'news', bucket: 'photos' }
  const unauthorised = await admin.inject({ method: 'POST', url: '/admin/purge', payload })
  assert.equal(unauthorised.statusCode, 401)
  const response = await admin.inject({ method: 'POST', url: '/admin/purge', headers: { authorization: `Bearer ${TOKEN}` }, payload })
  assert.equal(response.statusCode, 404)
  assert.equal(response.json<{ error: { code: string } }>().error.code, 'NOT_FOUND')
})
