import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { before, describe, test } from 'node:test'
import { buildTestApp, type TestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'

const PATH = '/tenants/acme/domains/news/buckets/signed/images/p/x.jpg'
let photo: Buffer
before(async () => { photo = await makeJpeg(300, 200) })

/** The signature scheme (docs/reference/parameters.md, `s`), written out independently of the service's own code. */
function signatureFor (key: string, path: string, query: string): string {
  const sorted = query.split('&').sort((a, b) => (a.split('=')[0] ?? '') < (b.split('=')[0] ?? '') ? -1 : 1).join('&')
  return createHmac('sha256', key).update(`${path}?${sorted}`).digest('base64url')
}

async function app (t: import('node:test').TestContext): Promise<TestApp> {
  return await buildTestApp(t, {
    originals: { 'acme/news/signed/p/x.jpg': photo, 'acme/news/photos/p/x.jpg': photo },
    logic: {
      buckets: {
        'acme/news/signed': { rules: { small: { width: 50 } }, adHoc: 'signed' },
        'acme/news/photos': { adHoc: 'allow' }
      },
      aliases: { sig: { tenant: 'acme', domain: 'news', bucket: 'signed' } }
    },
    env: { SIGNING_KEYS: JSON.stringify({ 'acme/news': ['new-secret-0123456789', 'old-secret-0123456789'], 'other/site': 'unrelated-0123456789' }) }
  })
}

async function status (testApp: TestApp, url: string): Promise<[number, string | undefined]> {
  const response = await testApp.server.inject(url)
  const code = response.statusCode === 200 ? undefined : response.json<{ error: { code: string } }>().error.code
  return [response.statusCode, code]
}

describe('signed ad-hoc URLs', () => {
  test('a valid signature is accepted, with either rotated key, and under /api/v1', async (t) => {
    const testApp = await app(t)
    for (const key of ['new-secret-0123456789', 'old-secret-0123456789']) {
      const s = signatureFor(key, PATH, 'w=100&fm=webp')
      assert.deepEqual(await status(testApp, `${PATH}?w=100&fm=webp&s=${s}`), [200, undefined], key)
      assert.deepEqual(await status(testApp, `/api/v1${PATH}?w=100&fm=webp&s=${s}`), [200, undefined])
    }
  })

  test('parameters may come in any order, s anywhere', async (t) => {
    const testApp = await app(t)
    const s = signatureFor('new-secret-0123456789', PATH, 'w=100&fm=webp&q=50')
    assert.deepEqual(await status(testApp, `${PATH}?q=50&s=${s}&fm=webp&w=100`), [200, undefined])
  })

  test('values are signed as they appear in the URL', async (t) => {
    const testApp = await app(t)
    const s = signatureFor('new-secret-0123456789', PATH, 'bg=%23ff0000&fit=contain&w=100&h=100')
    assert.deepEqual(await status(testApp, `${PATH}?w=100&h=100&fit=contain&bg=%23ff0000&s=${s}`), [200, undefined])
  })

  test('missing, wrong, tampered or foreign-key signatures are 403 INVALID_SIGNATURE', async (t) => {
    const testApp = await app(t)
    const s = signatureFor('new-secret-0123456789', PATH, 'w=100')
    const forbidden: Array<[number, string]> = [[403, 'INVALID_SIGNATURE']]
    assert.deepEqual([await status(testApp, `${PATH}?w=100`)], forbidden)
    assert.deepEqual([await status(testApp, `${PATH}?w=100&s=`)], forbidden)
    assert.deepEqual([await status(testApp, `${PATH}?w=101&s=${s}`)], forbidden)
    assert.deepEqual([await status(testApp, `${PATH}?w=100&h=10&s=${s}`)], forbidden)
    assert.deepEqual([await status(testApp, `${PATH}?w=100&s=${s.slice(0, -2)}`)], forbidden)
    assert.deepEqual([await status(testApp, `${PATH}?w=100&s=${signatureFor('unrelated-0123456789', PATH, 'w=100')}`)], forbidden)
    const otherPath = '/tenants/acme/domains/news/buckets/signed/images/p/y.jpg'
    assert.deepEqual([await status(testApp, `${otherPath}?w=100&s=${s}`)], forbidden)
  })

  test('rules never need a signature; s is ignored where signing is not required', async (t) => {
    const testApp = await app(t)
    assert.deepEqual(await status(testApp, `${PATH}?rule=small`), [200, undefined])
    assert.deepEqual(await status(testApp, '/tenants/acme/domains/news/buckets/photos/images/p/x.jpg?w=100&s=whatever'), [200, undefined])
  })

  test('alias paths sign the alias path with the bucket\'s key', async (t) => {
    const testApp = await app(t)
    const s = signatureFor('old-secret-0123456789', '/sig/images/p/x.jpg', 'w=80')
    assert.deepEqual(await status(testApp, `/sig/images/p/x.jpg?w=80&s=${s}`), [200, undefined])
  })
})
