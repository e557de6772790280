// Varnish with infra/cdn/varnish/default.vcl in front of the real service (the in-process app on a
// real loopback port): what reaches the service is read from its access log, what Varnish keeps from
// varnishstat, a hit from X-Varnish (a hit names two transactions, a miss one).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import { test, type TestContext } from 'node:test'
import sharp from 'sharp'
import { BROWSERS, CANONICAL_ACCEPT } from '../helpers/accept-matrix.ts'
import { VCL_FILE, renderVcl } from '../../infra/cdn/varnish/render.ts'
import { buildTestApp, type TestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'
import { listenLocally, rawRequest } from '../helpers/raw-http.ts'
import { startVarnish, type Varnish } from '../helpers/varnish.ts'
import type { AcceptClass } from '../../src/transform/negotiate-format.ts'

const PHOTOS = '/tenants/acme/domains/news/buckets/photos/images'
const FAST = '/tenants/acme/domains/news/buckets/fast/images'

const LOGIC = {
  buckets: {
    'acme/news/photos': { cacheControl: 'public, max-age=3600', adHoc: 'allow' },
    // Expires after a second: the revalidation test waits for that, not for a day.
    'acme/news/fast': { cacheControl: 'public, max-age=1', adHoc: 'allow' }
  },
  aliases: {}
}

interface Answer { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

async function get (port: number, target: string, headers: Record<string, string> = {}, options: { method?: string, localAddress?: string } = {}): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    // node:http adds no Accept of its own, so "no Accept" really sends none.
    const request = http.request({ host: '127.0.0.1', port, path: target, method: options.method ?? 'GET', headers, agent: false, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }) })
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end()
  })
}

function isHit (answer: Answer): boolean {
  return String(answer.headers['x-varnish']).trim().split(/\s+/).length === 2
}

interface Setup { app: TestApp, varnish: Varnish }

async function setUp (t: TestContext, vcl?: (port: number) => string): Promise<Setup> {
  const jpeg = await makeJpeg(200, 100)
  const app = await buildTestApp(t, {
    logic: LOGIC,
    originals: { 'acme/news/photos/a.jpg': jpeg, 'acme/news/photos/a-jpg': jpeg, 'acme/news/photos/b.jpg': jpeg, 'acme/news/fast/a.jpg': jpeg }
  })
  const port = await listenLocally(app.server)
  const source = vcl?.(port) ?? renderVcl(fs.readFileSync(VCL_FILE, 'utf8'), { host: '127.0.0.1', port })
  return { app, varnish: await startVarnish(t, source) }
}

/** The service's access-log entries for a path (without query). */
function served (app: TestApp, path: string): Array<Record<string, unknown>> {
  return app.logs.filter((entry) => entry.msg === 'request completed' && entry.path === path)
}

const FORMAT_OF_CLASS: Record<AcceptClass, { contentType: string, sharpFormat: string }> = {
  avif: { contentType: 'image/avif', sharpFormat: 'heif' },
  webp: { contentType: 'image/webp', sharpFormat: 'webp' },
  other: { contentType: 'image/jpeg', sharpFormat: 'jpeg' }
}

async function requestMatrix (port: number, target: string): Promise<Answer[]> {
  const answers: Answer[] = []
  // One at a time: each answer's hit or miss must follow from the ones before it.
  for (const browser of BROWSERS) answers.push(await get(port, target, browser.accept === undefined ? {} : { accept: browser.accept }))
  return answers
}

test('the browser matrix on one fm=auto URL makes one object per Accept class, each in the right format', async (t) => {
  const { app, varnish } = await setUp(t)
  const target = `${PHOTOS}/a.jpg?w=64&fm=auto`

  const first = await requestMatrix(varnish.port, target)
  for (const [i, answer] of first.entries()) {
    const browser = BROWSERS[i]
    assert.ok(browser !== undefined)
    const expected = FORMAT_OF_CLASS[browser.expected]
    assert.equal(answer.status, 200, browser.name)
    assert.equal(answer.headers['content-type'], expected.contentType, browser.name)
    assert.equal(answer.headers.vary, 'Accept', `${browser.name}: browsers still learn the answer varies`)
    const metadata = await sharp(answer.body).metadata()
    assert.equal(metadata.format, expected.sharpFormat, browser.name)
    assert.equal(metadata.width, 64, browser.name)
    assert.equal(metadata.height, 32, browser.name)
    // Purge tags stay inside the CDN.
    assert.equal(answer.headers['cache-tag'], undefined)
    assert.equal(answer.headers['surrogate-key'], undefined)
  }
  const objects = await varnish.counter('MAIN.n_object')
  const fetched = served(app, `${PHOTOS}/a.jpg`)
  assert.equal(objects, 3)
  assert.equal(fetched.length, 3, 'one backend fetch per class')
  // The service only ever saw the three canonical values (checked through what it answered).
  assert.deepEqual(new Set(first.map((answer) => answer.headers['content-type'])), new Set(['image/avif', 'image/webp', 'image/jpeg']))

  const again = await requestMatrix(varnish.port, target)
  assert.ok(again.every(isHit), 'the second round is served from the cache')
  for (const [i, answer] of again.entries()) assert.deepEqual(answer.body, first[i]?.body)
  assert.equal(await varnish.counter('MAIN.n_object'), 3)
  assert.equal(served(app, `${PHOTOS}/a.jpg`).length, 3)

  const distinct = new Set(BROWSERS.map((browser) => browser.accept ?? '')).size
  t.diagnostic(`normalised: ${BROWSERS.length} browsers (${distinct} distinct Accept) on one fm=auto URL -> ${objects} objects, ${fetched.length} backend fetches`)
})

test('without the normalisation (stock Varnish honouring Vary: Accept) the same matrix makes one object per Accept string', async (t) => {
  const { app, varnish } = await setUp(t, (port) => `vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "${port}"; }\n`)
  const target = `${PHOTOS}/a.jpg?w=64&fm=auto`
  const first = await requestMatrix(varnish.port, target)
  assert.ok(first.every((answer) => answer.status === 200))
  const again = await requestMatrix(varnish.port, target)
  assert.ok(again.every(isHit))
  const distinct = new Set(BROWSERS.map((browser) => browser.accept ?? '')).size
  const objects = await varnish.counter('MAIN.n_object')
  assert.equal(objects, distinct)
  assert.equal(served(app, `${PHOTOS}/a.jpg`).length, distinct)
  // And the service, reading the raw header, puts the q=0 client with the AVIF ones.
  const refusing = BROWSERS.findIndex((browser) => browser.name === 'AVIF refused with q=0')
  t.diagnostic(`stock Varnish: ${BROWSERS.length} browsers (${distinct} distinct Accept) on one fm=auto URL -> ${objects} objects, ${distinct} backend fetches; q=0 client got ${String(first[refusing]?.headers['content-type'])}`)
})

test('an expired object is revalidated with If-None-Match: the service answers 304 and Varnish serves the kept body', async (t) => {
  const { app, varnish } = await setUp(t)
  const target = `${FAST}/a.jpg?w=32`
  const path = `${FAST}/a.jpg`
  const first = await get(varnish.port, target)
  const filled = Date.now()
  assert.equal(first.status, 200)
  assert.equal(first.headers['cache-control'], 'public, max-age=1')
  assert.ok(first.headers.etag)

  // Poll, bounded, until Varnish has gone back to the service; every answer meanwhile is a hit.
  let answer = first
  const deadline = filled + 10000
  while (served(app, path).length === 1) {
    assert.ok(Date.now() < deadline, 'Varnish did not revalidate within 10 s of a max-age=1 answer')
    await new Promise((resolve) => setTimeout(resolve, 50))
    answer = await get(varnish.port, target)
  }
  const seconds = (Date.now() - filled) / 1000
  assert.deepEqual(served(app, path).map((entry) => entry.status), [200, 304], 'a conditional fetch, not a new transform')
  assert.equal(answer.status, 200)
  assert.equal(answer.headers.etag, first.headers.etag)
  assert.deepEqual(answer.body, first.body)
  assert.equal(answer.headers.age, '0', 'the refreshed object starts a new lifetime')
  assert.ok(seconds >= 1, `revalidated after ${seconds} s, before max-age ran out`)
  assert.equal(await varnish.counter('MAIN.n_object'), 1, 'the 304 refreshed the object instead of adding one')
  t.diagnostic(`revalidation: max-age=1 object revalidated (304 from the service) ${seconds.toFixed(2)} s after it was filled`)
})

test('errors are kept no longer than their Cache-Control says', async (t) => {
  const { app, varnish } = await setUp(t)
  // no-store errors: every request reaches the service.
  for (const [target, path, status] of [
    ['/tenants/acme/domains/news/buckets/nope/images/a.jpg', '/tenants/acme/domains/news/buckets/nope/images/a.jpg', 404],
    [`${PHOTOS}/a.jpg?w=0`, `${PHOTOS}/a.jpg`, 400]
  ] as const) {
    for (let i = 0; i < 2; i++) {
      const answer = await get(varnish.port, target)
      assert.equal(answer.status, status)
      assert.equal(answer.headers['cache-control'], 'no-store')
      assert.ok(!isHit(answer))
    }
    assert.equal(served(app, path).length, 2, `${target}: both requests reached the service`)
  }
  // An image 404 says `public, max-age=60`: that one is kept.
  const missing = await get(varnish.port, `${PHOTOS}/missing.jpg`)
  assert.equal(missing.status, 404)
  assert.equal(missing.headers['cache-control'], 'public, max-age=60')
  const missingAgain = await get(varnish.port, `${PHOTOS}/missing.jpg`)
  assert.ok(isHit(missingAgain))
  assert.equal(served(app, `${PHOTOS}/missing.jpg`).length, 1)
})

test('X-Request-Id reaches the service: a valid one as sent, else one Varnish makes; each client gets its own back', async (t) => {
  const { app, varnish } = await setUp(t)
  const target = `${PHOTOS}/b.jpg?w=40`
  const sent = await get(varnish.port, target, { 'x-request-id': 'cdn-trace-1' })
  assert.equal(sent.headers['x-request-id'], 'cdn-trace-1')
  assert.deepEqual(served(app, `${PHOTOS}/b.jpg`).map((entry) => entry.requestId), ['cdn-trace-1'])

  const invalid = await get(varnish.port, `${PHOTOS}/b.jpg?w=41`, { 'x-request-id': 'x'.repeat(129) })
  const made = served(app, `${PHOTOS}/b.jpg`)[1]?.requestId
  assert.match(String(made), /^varnish-\d+-\d+-\d+$/)
  assert.equal(invalid.headers['x-request-id'], made)

  // A hit answers with this request's id, not the one that filled the cache.
  const hit = await get(varnish.port, target, { 'x-request-id': 'cdn-trace-2' })
  assert.ok(isHit(hit))
  assert.equal(hit.headers['x-request-id'], 'cdn-trace-2')
  const generated = await get(varnish.port, target)
  assert.match(String(generated.headers['x-request-id']), /^varnish-\d+-\d+-\d+$/)
  assert.notEqual(generated.headers['x-request-id'], made)
  assert.equal(served(app, `${PHOTOS}/b.jpg`).length, 2)
})

test('/hystrix.stream and /admin are answered by Varnish, in every spelling, and never reach the service', async (t) => {
  const { app, varnish } = await setUp(t)
  for (const target of ['/hystrix.stream', '/hystrix.stream/', '/admin', '/admin/purge', '/admin/config/LOG_LEVEL', '/api/v1/hystrix.stream',
    '/api/v1/admin/breakers', '/%68ystrix.stream', '/hystrix%2Estream', '//admin', '/./admin', '/ADMIN', '/hystrix.stream?x=1',
    'http://images.example/hystrix.stream', 'http://images.example/api/v1/admin']) {
    const answer = await rawRequest(varnish.port, target, { 'x-request-id': 'probe-1' })
    assert.equal(answer.status, 404, target)
    assert.equal(answer.headers['cache-control'], 'no-store', target)
    assert.ok(answer.headers['x-varnish'], target)
    assert.deepEqual(JSON.parse(answer.body.toString()), { error: { code: 'IMAGE_NOT_FOUND', message: 'No such route', requestId: 'probe-1' } }, target)
  }
  assert.deepEqual(app.logs.filter((entry) => entry.msg === 'request completed'), [])
  // What is not an operations endpoint still goes through, percent-encoded image ids included.
  assert.equal((await get(varnish.port, '/healthcheck')).status, 200)
  assert.equal((await get(varnish.port, `${PHOTOS}/a%2Ejpg?w=20`)).status, 200)
  assert.equal((await get(varnish.port, '/hystrix.streams')).status, 404)
  assert.equal(served(app, '/hystrix.streams').length, 1, 'a different route, answered by the service')
})

test('BAN by tag removes exactly the tagged image\'s objects; PURGE removes a URL in every class; both only from the ACL', async (t) => {
  const { app, varnish } = await setUp(t)
  const accepts = [CANONICAL_ACCEPT.avif, CANONICAL_ACCEPT.other]
  const urls = [`${PHOTOS}/a.jpg?w=30&fm=auto`, `${PHOTOS}/a.jpg?w=31&fm=auto`, `${PHOTOS}/a-jpg?w=30&fm=auto`, `${PHOTOS}/b.jpg?w=30&fm=auto`]
  const round = async (): Promise<Map<string, boolean>> => {
    const hits = new Map<string, boolean>()
    for (const url of urls) for (const accept of accepts) hits.set(`${url} ${accept}`, isHit(await get(varnish.port, url, { accept })))
    return hits
  }
  assert.ok([...(await round()).values()].every((hit) => !hit))
  assert.equal(await varnish.counter('MAIN.n_object'), urls.length * accepts.length)

  // Not from another address, and not with something that is not one tag.
  const outsider = await get(varnish.port, '/', { 'x-purge-tag': 'i:acme/news/photos/a.jpg' }, { method: 'BAN', localAddress: '127.0.0.2' })
  assert.equal(outsider.status, 403)
  assert.equal((JSON.parse(outsider.body.toString()) as { error: { code: string } }).error.code, 'PURGE_NOT_ALLOWED')
  assert.equal((await get(varnish.port, `${PHOTOS}/a.jpg?w=30&fm=auto`, {}, { method: 'PURGE', localAddress: '127.0.0.2' })).status, 403)
  for (const tag of ['', 'acme', 'i:a b', 'x:acme', 'i:acme/news/photos/a.jpg t:acme']) {
    assert.equal((await get(varnish.port, '/', { 'x-purge-tag': tag }, { method: 'BAN' })).status, 400, JSON.stringify(tag))
  }
  // Regex characters a tag may hold (encodeURIComponent keeps . * ( )) are matched literally.
  assert.equal((await get(varnish.port, '/', { 'x-purge-tag': 'i:.*' }, { method: 'BAN' })).status, 200)
  assert.ok([...(await round()).values()].every((hit) => hit), 'refused and literal-only bans removed nothing')

  const banned = await get(varnish.port, '/', { 'x-purge-tag': 'i:acme/news/photos/a.jpg' }, { method: 'BAN' })
  assert.equal(banned.status, 200)
  const afterBan = await round()
  for (const [key, hit] of afterBan) {
    // a-jpg would match an unescaped "a.jpg" pattern; b.jpg shares the bucket tag only.
    assert.equal(hit, !key.includes('/a.jpg?'), key)
  }
  t.diagnostic(`BAN i:acme/news/photos/a.jpg: ${[...afterBan.values()].filter((hit) => !hit).length} of ${afterBan.size} objects refetched (the 4 of a.jpg)`)

  const purged = await get(varnish.port, `${PHOTOS}/b.jpg?w=30&fm=auto`, {}, { method: 'PURGE' })
  assert.equal(purged.status, 200)
  for (const accept of [...accepts, CANONICAL_ACCEPT.webp]) {
    assert.ok(!isHit(await get(varnish.port, `${PHOTOS}/b.jpg?w=30&fm=auto`, { accept })), `purged for ${accept}`)
  }
  assert.ok(isHit(await get(varnish.port, `${PHOTOS}/a-jpg?w=30&fm=auto`, { accept: CANONICAL_ACCEPT.other })))

  const bucket = await get(varnish.port, '/', { 'x-purge-tag': 'b:acme/news/photos' }, { method: 'BAN' })
  assert.equal(bucket.status, 200)
  assert.ok([...(await round()).values()].every((hit) => !hit), 'a bucket tag bans every image of the bucket')
  assert.equal(served(app, `${PHOTOS}/a-jpg`).length, 4)
})

test('a corrected photo: after POST /admin/purge and a BAN by its tag, Varnish and the service serve the new bytes', async (t) => {
  const jpeg = await makeJpeg(200, 100)
  const app = await buildTestApp(t, { logic: LOGIC, originals: { 'acme/news/photos/a.jpg': jpeg }, env: { ADMIN_TOKEN: 'purge-token-0123456789' } })
  const port = await listenLocally(app.server)
  const varnish = await startVarnish(t, renderVcl(fs.readFileSync(VCL_FILE, 'utf8'), { host: '127.0.0.1', port }))
  const url = `${PHOTOS}/a.jpg?w=100`
  const before = await get(varnish.port, url)
  assert.equal(before.status, 200)
  assert.ok(isHit(await get(varnish.port, url)), 'cached by Varnish')

  // The newsroom replaces the original (another shape, so the bytes tell which one is served).
  fs.writeFileSync(`${app.root}/acme/news/photos/a.jpg`, await makeJpeg(100, 100))
  const stale = await get(varnish.port, url)
  assert.ok(isHit(stale) && stale.body.equals(before.body), 'until purged, the CDN keeps the old bytes')

  const started = performance.now()
  const purged = await app.admin.inject({
    method: 'POST',
    url: '/admin/purge',
    headers: { authorization: 'Bearer purge-token-0123456789' },
    payload: { tenant: 'acme', domain: 'news', bucket: 'photos', imageId: 'a.jpg' }
  })
  assert.equal(purged.statusCode, 202)
  const banned = await get(varnish.port, '/', { 'x-purge-tag': 'i:acme/news/photos/a.jpg' }, { method: 'BAN' })
  assert.equal(banned.status, 200)
  const after = await get(varnish.port, url)
  const seconds = (performance.now() - started) / 1000
  assert.equal(after.status, 200)
  assert.ok(!isHit(after))
  assert.notEqual(after.headers.etag, before.headers.etag)
  const { width, height } = await sharp(after.body).metadata()
  assert.deepEqual([width, height], [100, 100], 'the corrected photo')
  t.diagnostic(`purge + BAN -> new bytes through Varnish in ${seconds.toFixed(3)} s`)
})
