// CloudFront Function (runtime cloudfront-js-2.0), associated on viewer-request with every cache
// behaviour of the distribution (infra/cloudformation/stack.ts). It runs before CloudFront looks up
// its cache, so what it writes is what the cache key sees:
//
// - `Accept` is rewritten to one of three canonical values, the Accept class. The cache policy keys
//   on `Accept`, so hundreds of browser Accept strings make three cache entries, and the service,
//   which negotiates `fm=auto` from `Accept`, receives a value that says exactly the class it is
//   cached under (a q=0 the service would not read cannot put AVIF under the WebP key).
// - `X-Request-Id` is kept when valid (the service's own rule), else CloudFront's request id (the
//   `x-edge-request-id` of the access logs) stands in, so a CDN log line and a service log line join.
// - The operations endpoints (/hystrix.stream, /admin) are answered here and never reach the origin;
//   the load balancer refuses them too.
//
// Plain JavaScript of the runtime's subset: no modules, no require, `handler` is the entry point.

const CANONICAL_ACCEPT = {
  avif: 'image/avif,image/webp,*/*',
  webp: 'image/webp,*/*',
  other: '*/*'
}

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

// Matched on the decoded path, as the service's router matches it (case-insensitively, to be safe).
const REFUSED_PATH = /^(\/api\/v1)?\/(hystrix\.stream|admin)(\/|$)/i

// The same answer as the load balancer's and the service's for an unknown route.
const REFUSED_BODY = '{"error":{"code":"IMAGE_NOT_FOUND","message":"No such route","requestId":"%ID%"}}'

/** True when `accept` lists `type` with a non-zero q (RFC 9110 §12.5.1; a missing q is 1). */
function accepts (accept, type) {
  const ranges = accept.toLowerCase().split(',')
  for (let i = 0; i < ranges.length; i++) {
    const parts = ranges[i].split(';')
    if (parts[0].trim() !== type) continue
    let q = 1
    for (let j = 1; j < parts.length; j++) {
      const param = parts[j].split('=')
      if (param[0].trim() === 'q' && param.length === 2) q = parseFloat(param[1].trim())
    }
    if (!(q <= 0)) return true
  }
  return false
}

/** `avif`, `webp` or `other`: all that `fm=auto` depends on. */
function acceptClass (accept) {
  if (accepts(accept, 'image/avif')) return 'avif'
  if (accepts(accept, 'image/webp')) return 'webp'
  return 'other'
}

/** A header's value, repeated headers joined as one list. */
function headerValue (request, name) {
  const header = request.headers[name]
  if (header === undefined) return ''
  if (header.multiValue !== undefined && header.multiValue.length > 1) {
    return header.multiValue.map(function (entry) { return entry.value }).join(',')
  }
  return header.value
}

/** The id the service will log: the viewer's when valid, else CloudFront's own for this request. */
function requestIdOf (request, context) {
  const given = headerValue(request, 'x-request-id')
  if (VALID_REQUEST_ID.test(given)) return given
  const edge = String((context && context.requestId) || '').replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 128)
  if (edge !== '') return edge
  return 'cf-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2)
}

/** The path the router would see: percent-decoded, `.` segments and repeated slashes removed. */
function routedPath (uri) {
  let path
  try {
    path = decodeURIComponent(uri)
  } catch (error) {
    path = uri // the service refuses bad percent-encoding itself
  }
  return path.replace(/\/(\.\/)+/g, '/').replace(/\/{2,}/g, '/')
}

/**
 * `%61` and `a` are one URI (RFC 3986 §6.2.2.2), and the service decodes them alike: decoding the
 * unreserved ones gives each image one cache key, so a purge's paths reach every spelling of it.
 * Other escapes (`%2F`, `%20`, `%25`, non-ASCII) stay as sent; the service refuses them.
 */
function normalisedUri (uri) {
  return uri.replace(/%([0-9A-Fa-f]{2})/g, function (escape, hex) {
    const character = String.fromCharCode(parseInt(hex, 16))
    return /^[A-Za-z0-9._~-]$/.test(character) ? character : escape
  })
}

function refusal (requestId) {
  return {
    statusCode: 404,
    statusDescription: 'Not Found',
    headers: {
      'content-type': { value: 'application/json' },
      'cache-control': { value: 'no-store' },
      'x-request-id': { value: requestId },
      'x-content-type-options': { value: 'nosniff' }
    },
    body: { encoding: 'text', data: REFUSED_BODY.replace('%ID%', requestId) }
  }
}

// eslint-disable-next-line no-unused-vars -- the entry point CloudFront calls
function handler (event) {
  const request = event.request
  const requestId = requestIdOf(request, event.context)
  if (REFUSED_PATH.test(routedPath(request.uri))) return refusal(requestId)
  request.uri = normalisedUri(request.uri)
  request.headers.accept = { value: CANONICAL_ACCEPT[acceptClass(headerValue(request, 'accept'))] }
  request.headers['x-request-id'] = { value: requestId }
  return request
}
