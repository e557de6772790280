// The CloudFront Function as code: the file CloudFormation publishes, run in a bare `node:vm`
// context (no require, no process, no Buffer: what the cloudfront-js-2.0 runtime lacks too) and
// called with viewer-request events of the shape CloudFront sends.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import vm from 'node:vm'
import { BROWSERS, CANONICAL_ACCEPT } from '../../helpers/accept-matrix.ts'
import { acceptClass } from '../../../src/transform/negotiate-format.ts'

const FILE = path.resolve(import.meta.dirname, '../../../infra/cdn/cloudfront-function.js')
const code = fs.readFileSync(FILE, 'utf8')

interface Header { value: string, multiValue?: Array<{ value: string }> }
interface CfRequest { method: string, uri: string, querystring: Record<string, Header>, headers: Record<string, Header>, cookies: Record<string, Header> }
interface CfResponse { statusCode: number, headers: Record<string, Header>, body: { encoding: string, data: string } }

const sandbox = vm.createContext({})
vm.runInContext(code, sandbox, { filename: FILE })
const handler = sandbox.handler as (event: unknown) => CfRequest | CfResponse

const EDGE_REQUEST_ID = '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=='

function viewerRequest (uri: string, headers: Record<string, string | string[]> = {}): unknown {
  const entries = Object.entries(headers).map(([name, value]) => {
    const values = Array.isArray(value) ? value : [value]
    const header: Header = { value: values[0] ?? '' }
    if (values.length > 1) header.multiValue = values.map((entry) => ({ value: entry }))
    return [name, header]
  })
  return {
    version: '1.0',
    context: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: EDGE_REQUEST_ID },
    viewer: { ip: '198.51.100.11' },
    request: {
      method: 'GET',
      uri,
      querystring: { w: { value: '400' }, fm: { value: 'auto' } },
      headers: { host: { value: 'images.example.com' }, ...Object.fromEntries(entries) },
      cookies: {}
    }
  }
}

function forwarded (event: unknown): CfRequest {
  const result = handler(event)
  assert.ok(!('statusCode' in result), 'forwarded to the origin, not answered')
  return result
}

const IMAGE = '/tenants/acme/domains/news/buckets/photos/images/a.jpg'

describe('CloudFront Function', () => {
  test('stays within the runtime: no modules, under the 10 KB code limit', () => {
    assert.ok(Buffer.byteLength(code) < 10240)
    assert.doesNotMatch(code, /\brequire\s*\(|^\s*(import|export)\b/m)
    assert.equal(typeof handler, 'function')
  })

  test('puts every browser of the matrix in its Accept class, and the service agrees with the rewrite', () => {
    const classes = new Map<string, Set<string>>()
    for (const browser of BROWSERS) {
      const headers = browser.accept === undefined ? {} : { accept: browser.accept }
      const request = forwarded(viewerRequest(IMAGE, headers))
      const accept = request.headers.accept?.value ?? ''
      assert.equal(accept, CANONICAL_ACCEPT[browser.expected], browser.name)
      // The canonical value makes the service pick the format of the class it is cached under.
      assert.equal(acceptClass(accept, true), browser.expected, browser.name)
      classes.set(accept, (classes.get(accept) ?? new Set()).add(browser.accept ?? ''))
    }
    const distinct = new Set(BROWSERS.map((browser) => browser.accept ?? '')).size
    assert.equal(classes.size, 3)
    assert.ok(distinct > 3)
  })

  test('joins repeated Accept headers before classifying them', () => {
    const request = forwarded(viewerRequest(IMAGE, { accept: ['text/html', 'image/webp;q=0.9'] }))
    assert.equal(request.headers.accept?.value, CANONICAL_ACCEPT.webp)
  })

  test('keeps the query string and the path untouched', () => {
    const request = forwarded(viewerRequest(IMAGE, { accept: '*/*' }))
    assert.equal(request.uri, IMAGE)
    assert.deepEqual(request.querystring, { w: { value: '400' }, fm: { value: 'auto' } })
  })

  test('keeps a valid X-Request-Id and replaces an invalid or missing one by CloudFront\'s request id', () => {
    for (const id of ['abc', 'trace-1.2:3_x', 'a'.repeat(128)]) {
      assert.equal(forwarded(viewerRequest(IMAGE, { 'x-request-id': id })).headers['x-request-id']?.value, id)
    }
    const edge = EDGE_REQUEST_ID.replace(/=/g, '')
    for (const id of ['', 'a'.repeat(129), 'has space', 'quote"', 'new\nline']) {
      assert.equal(forwarded(viewerRequest(IMAGE, { 'x-request-id': id })).headers['x-request-id']?.value, edge, JSON.stringify(id))
    }
    assert.equal(forwarded(viewerRequest(IMAGE)).headers['x-request-id']?.value, edge)
    assert.match(edge, /^[A-Za-z0-9._:-]{1,128}$/)
  })

  test('without a usable CloudFront request id it makes one up, still valid and different each time', () => {
    const withoutEdgeId = (): unknown => {
      const event = viewerRequest(IMAGE) as { context: Record<string, unknown> }
      event.context.requestId = '==='
      return event
    }
    const first = forwarded(withoutEdgeId()).headers['x-request-id']?.value ?? ''
    const second = forwarded(withoutEdgeId()).headers['x-request-id']?.value ?? ''
    assert.match(first, /^[A-Za-z0-9._:-]{1,128}$/)
    assert.notEqual(first, second)
  })

  test('answers /hystrix.stream and /admin itself with a 404 JSON error, in any spelling the router decodes', () => {
    for (const uri of ['/hystrix.stream', '/hystrix.stream/', '/admin', '/admin/config/LOG_LEVEL', '/admin/purge', '/api/v1/hystrix.stream',
      '/api/v1/admin/breakers', '/%68ystrix.stream', '/hystrix%2Estream', '/%61dmin/purge', '//admin', '/./admin', '/ADMIN', '/api/v1//hystrix.stream']) {
      const result = handler(viewerRequest(uri, { 'x-request-id': 'probe-1' }))
      assert.ok('statusCode' in result, `${uri} reached the origin`)
      assert.equal(result.statusCode, 404, uri)
      assert.equal(result.headers['cache-control']?.value, 'no-store')
      assert.equal(result.headers['content-type']?.value, 'application/json')
      assert.deepEqual(JSON.parse(result.body.data), { error: { code: 'IMAGE_NOT_FOUND', message: 'No such route', requestId: 'probe-1' } })
    }
    for (const uri of ['/healthcheck', '/administration/images/x.jpg', '/hystrix.streams', '/news-photos/images/admin', '/api/v1/shots/images/a%20b.jpg', '/%E0%A4%A']) {
      forwarded(viewerRequest(uri))
    }
  })
})

describe('one cache key (and one invalidation path) per image, however the URL spells it', () => {
  test('percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2); other escapes stay as sent', () => {
    const canonical = '/tenants/acme/domains/news/buckets/photos/images/2026/a.jpg'
    for (const spelling of [
      '/tenants/%61cme/domains/news/buckets/photos/images/2026/a.jpg',
      '/tenants/acme/domains/news/buckets/photos/images/2026/%61.jpg',
      '/tenants/acme/domains/%6E%65%77%73/buckets/photos/images/2026/a%2Ejpg',
      canonical
    ]) assert.equal(forwarded(viewerRequest(spelling)).uri, canonical, spelling)
    assert.equal(forwarded(viewerRequest('/%73hots/images/2026/a.jpg')).uri, '/shots/images/2026/a.jpg')
    // A slash, a space or a percent sign stay encoded: the service refuses them itself.
    for (const kept of ['/shots/images/2026%2Fa.jpg', '/shots/images/a%20b.jpg', '/shots/images/a%25.jpg', '/shots/images/%E2%80%AE.jpg']) {
      assert.equal(forwarded(viewerRequest(kept)).uri, kept)
    }
  })
})
