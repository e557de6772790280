import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import sharp from 'sharp'
import { buildTestApp, type TestApp } from '../../helpers/build-app.ts'
import { makeAnimatedGif, makeJpeg } from '../../helpers/images.ts'
import { listenLocally, rawRequest } from '../../helpers/raw-http.ts'
import { ERROR_DEFINITIONS } from '../../../src/errors.ts'

/**
 * Hostile input, property based, through the real app: whatever the
 * path, query, headers or body, the answer has an allowed status and the error shape, never a
 * stack trace, never an output over the limits, and never an original of another bucket.
 * Seeded, so a failure is reproducible; fast-check prints the shrunk counterexample.
 */

const SEED = 20261201
const LIMITS = { dimension: 256, pixels: 20000, frames: 8 }
const ENV = {
  LIMITS_MAX_OUTPUT_DIMENSION: String(LIMITS.dimension),
  LIMITS_MAX_OUTPUT_PIXELS: String(LIMITS.pixels),
  LIMITS_MAX_ANIMATION_FRAMES: String(LIMITS.frames)
}
const ALLOWED_STATUSES = new Set([200, 304, 400, 403, 404, 413, 415, 422, 451, 502, 503, 504])
/** Anything that looks like a stack frame or a source path. */
const STACK_TRACE = /^\s+at |\/src\/|node:internal|\.ts:\d+|\.js:\d+/m
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** A wildcard bucket allowing ad-hoc transformations, and a deny bucket holding the secrets. */
const VAULT = 'acme/vault/secret'
const LOGIC = {
  buckets: {
    'acme/*/*': { adHoc: 'allow', rules: { thumb: { width: 16 } } },
    [VAULT]: { adHoc: 'deny', rules: { thumb: { width: 10 } } }
  },
  aliases: {
    open: { tenant: 'acme', domain: 'open', bucket: 'pub' },
    vault: { tenant: 'acme', domain: 'vault', bucket: 'secret' }
  },
  watermarks: { 'acme/open/pub': 'mark.png' }
}
const ALIASES: Record<string, string> = { open: 'acme/open/pub', vault: VAULT }

interface Answer { status: number, headers: Record<string, string>, body: Buffer }
type Rgb = readonly [number, number, number]

async function within<T> (label: string, work: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms: ${label}`)) }, ms)
  })
  try {
    return await Promise.race([work, hang])
  } finally {
    clearTimeout(timer)
  }
}

interface InjectRequest {
  method?: 'GET' | 'HEAD' | 'POST'
  url: string
  headers?: Record<string, string>
  payload?: string | Buffer
}

async function inject (app: TestApp, request: InjectRequest): Promise<Answer> {
  const response = await within(request.url, app.server.inject(request))
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return { status: response.statusCode, headers, body: response.rawPayload }
}

async function raw (port: number, target: string): Promise<Answer> {
  return await within(target.slice(0, 200), rawRequest(port, target))
}

/** The last internal error the app logged, to explain a 500. */
function lastInternalError (app: TestApp | undefined): string {
  const line = app?.logs.findLast((entry) => entry.msg === 'unexpected error')
  return line === undefined ? '' : ` (logged: ${JSON.stringify(line.err ?? line).slice(0, 400)})`
}

/** the allowed statuses, and every error in the `{"error":{code,message,requestId}}` shape. */
function checkAnswer (answer: Answer, label: string, options: { method?: string, app?: TestApp, notErrors?: number[] } = {}): void {
  if (!ALLOWED_STATUSES.has(answer.status)) {
    assert.fail(`${label}: status ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}${lastInternalError(options.app)}`)
  }
  if (answer.status === 304) assert.equal(answer.body.length, 0, `${label}: a 304 has no body`)
  if (answer.status >= 400 && !(options.notErrors ?? []).includes(answer.status)) checkError(answer, label, options.method ?? 'GET')
}

function checkError (answer: Answer, label: string, method: string): void {
  const cacheControl = answer.headers['cache-control'] ?? ''
  const cacheable = answer.status === 404 && /^public, max-age=\d+$/.test(cacheControl)
  assert.ok(cacheControl === 'no-store' || cacheable, `${label}: error ${answer.status} with cache-control '${cacheControl}'`)
  if (method === 'HEAD') return
  const text = answer.body.toString('utf8')
  assert.doesNotMatch(text, STACK_TRACE, `${label}: a stack trace or a path in the body`)
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/, `${label}: error content-type`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    assert.fail(`${label}: error body is not JSON: ${text.slice(0, 200)}`)
  }
  const shape = `${label}: error body ${text.slice(0, 300)}`
  assert.ok(isObject(parsed) && sameKeys(parsed, ['error']), shape)
  const error = parsed.error
  assert.ok(isObject(error) && sameKeys(error, ['code', 'message', 'requestId']), shape)
  assert.ok(typeof error.code === 'string' && typeof error.message === 'string' && typeof error.requestId === 'string', shape)
  const definition = (ERROR_DEFINITIONS as Record<string, { status: number } | undefined>)[error.code]
  assert.equal(definition?.status, answer.status, `${shape}: code and status disagree`)
  assert.equal(error.requestId, answer.headers['x-request-id'], `${shape}: requestId is not the X-Request-Id header`)
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function sameKeys (value: Record<string, unknown>, keys: string[]): boolean {
  return JSON.stringify(Object.keys(value).sort()) === JSON.stringify([...keys].sort())
}

interface Decoded { format: string, width: number, height: number, pages: number }

async function decode (bytes: Buffer): Promise<Decoded> {
  const metadata = await sharp(bytes, { animated: true }).metadata()
  return {
    format: metadata.format === 'heif' ? 'avif' : String(metadata.format),
    width: metadata.width,
    height: metadata.pageHeight ?? metadata.height,
    pages: metadata.pages ?? 1
  }
}

/** an image answer within the limits, its content-type its real format. */
async function checkImage (answer: Answer, label: string, sourcePages: number): Promise<Decoded> {
  const image = await decode(answer.body)
  assert.equal((answer.headers['content-type'] ?? '').split(';')[0], `image/${image.format}`, `${label}: content-type of a ${image.format}`)
  const size = `${label}: ${image.width}x${image.height}x${image.pages}`
  assert.ok(image.width <= LIMITS.dimension && image.height <= LIMITS.dimension, `${size} has a side over LIMITS_MAX_OUTPUT_DIMENSION`)
  assert.ok(image.width * image.height <= LIMITS.pixels, `${size} is over LIMITS_MAX_OUTPUT_PIXELS`)
  if (image.pages > 1) {
    assert.ok(image.pages <= LIMITS.frames, `${size} has more frames than LIMITS_MAX_ANIMATION_FRAMES`)
    assert.ok(image.pages * image.width * image.height <= LIMITS.pixels, `${size}: frames x pixels over LIMITS_MAX_OUTPUT_PIXELS`)
    assert.equal(answer.headers['x-animation'], undefined, `${size}: an animation is not a first frame`)
  } else if (sourcePages > 1) {
    assert.equal(answer.headers['x-animation'], 'first-frame', `${size}: an animated source delivered as one frame`)
  }
  return image
}

async function centre (bytes: Buffer): Promise<Rgb> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const offset = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels
  return [data[offset] ?? -1, data[offset + 1] ?? -1, data[offset + 2] ?? -1]
}

async function solidJpeg (width: number, height: number, [r, g, b]: Rgb): Promise<Buffer> {
  return await sharp({ create: { width, height, channels: 3, background: { r, g, b } } }).jpeg({ quality: 95 }).toBuffer()
}

// ---------------------------------------------------------------------------------------------
// The path grammar of the contract, written from it (not from src/): what a request target names.

/** `:tenant`, `:domain`, `:bucket`, `:alias` after percent-decoding. */
const PATH_PART = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/

function decoded (text: string): string | null {
  try {
    return decodeURIComponent(text)
  } catch {
    return null
  }
}

function specImageId (rawId: string): string | null {
  if (/%(2f|5c|00)/i.test(rawId)) return null
  const id = decoded(rawId)
  if (id === null || id.length === 0 || id.length > 512) return null
  return id.split('/').every((segment) => segment !== '.' && segment !== '..' && /^[A-Za-z0-9._-]+$/.test(segment)) ? id : null
}

function withoutAuthority (target: string): string {
  return target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '')
}

function queryOf (target: string): string {
  const rest = withoutAuthority(target)
  const start = rest.indexOf('?')
  return start === -1 ? '' : rest.slice(start + 1)
}

/**
 * The origin keys `<tenant>/<domain>/<bucket>/<id>` a request target names under the contract, with
 * percent-encoded spellings of unreserved characters equivalent to the characters themselves
 * (RFC 3986 §6.2.2.2); empty when the target is not a valid image URL.
 */
function namedKeys (target: string): string[] {
  const rest = withoutAuthority(target)
  const start = rest.indexOf('?')
  const path = start === -1 ? rest : rest.slice(0, start)
  if (!path.startsWith('/')) return []
  const segments = path.split('/')
  const readings = [segments]
  if (decoded(segments[1] ?? '') === 'api' && decoded(segments[2] ?? '') === 'v1') readings.push(['', ...segments.slice(3)])
  const keys: string[] = []
  for (const s of readings) {
    const word = (index: number, expected: string): boolean => decoded(s[index] ?? '') === expected
    if (s.length >= 9 && word(1, 'tenants') && word(3, 'domains') && word(5, 'buckets') && word(7, 'images')) {
      const parts = [s[2], s[4], s[6]].map((part) => decoded(part ?? ''))
      const id = specImageId(s.slice(8).join('/'))
      if (parts.every((part) => part !== null && PATH_PART.test(part)) && id !== null) keys.push(`${parts.join('/')}/${id}`)
    }
    if (s.length >= 4 && word(2, 'images')) {
      const alias = decoded(s[1] ?? '')
      const id = specImageId(s.slice(3).join('/'))
      const bucket = alias !== null && PATH_PART.test(alias) && Object.hasOwn(ALIASES, alias) ? ALIASES[alias] : undefined
      if (bucket !== undefined && id !== null) keys.push(`${bucket}/${id}`)
    }
  }
  return keys
}

// ---------------------------------------------------------------------------------------------
// Properties 1a–1c: paths, over a real socket (inject would normalise the dot segments away).

interface Original { bytes: Buffer, colour: Rgb }
const GREEN: Rgb = [0, 255, 0]

/**
 * Every original has its own solid colour; green ones are secret: the deny bucket's, and files
 * outside any bucket directory that no valid URL can name at all.
 */
async function pathOriginals (): Promise<Record<string, Original>> {
  const table: Array<[string, number, number, Rgb]> = [
    ['acme/open/pub/ok.jpg', 24, 16, [255, 0, 0]],
    ['acme/open/pub/images/ok.jpg', 20, 20, [0, 0, 255]],
    ['acme/open/pub/pub/images/ok.jpg', 18, 14, [255, 255, 0]],
    ['acme/open/pub/open/images/ok.jpg', 16, 18, [0, 255, 255]],
    ['acme/news/photos/ok.jpg', 22, 12, [255, 0, 255]],
    [`${VAULT}/x.jpg`, 64, 48, GREEN],
    [`${VAULT}/ok.jpg`, 30, 20, GREEN],
    ['acme/vault/x.jpg', 10, 11, GREEN],
    ['acme/open/x.jpg', 11, 10, GREEN],
    ['acme/x.jpg', 12, 10, GREEN],
    ['x.jpg', 10, 12, GREEN]
  ]
  const originals: Record<string, Original> = {}
  for (const [key, width, height, colour] of table) originals[key] = { bytes: await solidJpeg(width, height, colour), colour }
  return originals
}

async function pathApp (t: Parameters<typeof buildTestApp>[0]): Promise<{ app: TestApp, port: number, originals: Record<string, Original> }> {
  const originals = await pathOriginals()
  const app = await buildTestApp(t, {
    originals: Object.fromEntries(Object.entries(originals).map(([key, { bytes }]) => [key, bytes])),
    logic: LOGIC,
    env: ENV
  })
  return { app, port: await listenLocally(app.server), originals }
}

const close = (a: Rgb, b: Rgb): boolean => a.every((channel, i) => Math.abs(channel - (b[i] ?? 0)) <= 60)

/**
 * A request can only read originals under its own bucket: a 200 is only for a target that names
 * an existing image, with exactly its bytes (or its colour, transformed), and no body ever holds
 * an original the target does not name.
 */
async function checkPathAnswer (target: string, answer: Answer, originals: Record<string, Original>, app: TestApp): Promise<void> {
  checkAnswer(answer, target, { app })
  const named = namedKeys(target)
  for (const [key, original] of Object.entries(originals)) {
    if (!named.includes(key)) assert.ok(!answer.body.includes(original.bytes), `${target}: the body holds ${key}, which the URL does not name`)
  }
  if (answer.status !== 200) return
  const existing = named.filter((key) => Object.hasOwn(originals, key))
  assert.ok(existing.length > 0, `${target}: 200, but the URL names no existing image (${named.join(', ') || 'not a valid image URL'})`)
  const query = queryOf(target)
  if (query === '') {
    assert.ok(existing.some((key) => answer.body.equals(originals[key]?.bytes ?? Buffer.alloc(0))),
      `${target}: 200 with bytes that are not those of ${existing.join(' or ')}`)
    return
  }
  const pixel = await centre(answer.body)
  assert.ok(existing.some((key) => close(pixel, originals[key]?.colour ?? GREEN)), `${target}: 200 of colour ${pixel.join(',')}, not that of ${existing.join(' or ')}`)
  if (!query.startsWith('rule=')) assert.ok(existing.some((key) => !key.startsWith(`${VAULT}/`)), `${target}: ad-hoc parameters served from the deny bucket`)
}

const DOTS = ['.', '..', '...', '%2e', '%2E', '%2e%2e', '%2E%2e', '.%2e', '%2e.', '%252e', '%252e%252e', '%c0%ae', '%u002e']
const SEPARATORS = ['/', '//', '%2f', '%2F', '%5c', '%5C', '\\', '%00', '%2f%2e%2e%2f', '/./', '/../']
const JUNK = ['%', '%zz', '%2', '%%', '%25', '%C3%A9', '%E2%80%AE', '%F0%9F%98%80', '%ff', '%0d%0a', '~', ';', ',', '*', '@', ':',
  '!', '$', '\'', '(', '=', '+', '&', '"', '<', '>', '^', '`', '{', '|', '}', '[', ']', '?', '#']
const NAMES = ['acme', 'open', 'pub', 'vault', 'secret', 'news', 'photos', 'ok.jpg', 'x.jpg', 'images', 'tenants', 'domains', 'buckets', 'api', 'v1', 'ok', 'jpg']

const dangerousPiece: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 3, arbitrary: fc.constantFrom(...DOTS) },
  { weight: 2, arbitrary: fc.constantFrom(...SEPARATORS) },
  { weight: 3, arbitrary: fc.constantFrom(...JUNK) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,10}$/) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 700 }).map((n) => 'a'.repeat(n)) }
)

const hostilePart = fc.array(dangerousPiece, { minLength: 0, maxLength: 4 }).map((pieces) => pieces.join(''))
const partOf = (...legit: string[]): fc.Arbitrary<string> => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...legit) }, { weight: 2, arbitrary: hostilePart })

/** Ids: plain ones, traversals towards the vault, and free mixes of dangerous pieces. */
const hostileId: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('ok.jpg', 'x.jpg', 'images/ok.jpg', 'pub/images/ok.jpg', 'open/images/ok.jpg', 'missing.jpg') },
  {
    weight: 4,
    arbitrary: fc.array(fc.tuple(
      fc.oneof(fc.constantFrom(...DOTS), fc.constantFrom('vault', 'secret', 'open', 'pub', 'acme', 'x.jpg', 'ok.jpg', '')),
      fc.oneof({ weight: 5, arbitrary: fc.constant('/') }, { weight: 3, arbitrary: fc.constantFrom(...SEPARATORS) })
    ), { minLength: 1, maxLength: 7 }).map((steps) => steps.map(([segment, separator], i) => i === 0 ? segment : separator + segment).join(''))
  },
  { weight: 2, arbitrary: fc.array(dangerousPiece, { minLength: 1, maxLength: 6 }).map((pieces) => pieces.join('')) }
)

const AUTHORITIES = ['http://images.example', 'HTTP://a', 'http://x@y', 'https://127.0.0.1:1']
const PATH_QUERIES = ['', '?', '?w=8', '?rule=thumb', '?fm=png']

/** The four route forms (bucket and alias, with and without /api/v1), with the given spellings. */
function routeTarget (spelled: { prefix: fc.Arbitrary<string>, word: (word: string) => fc.Arbitrary<string>, id: fc.Arbitrary<string>, part: (...legit: string[]) => fc.Arbitrary<string> }): fc.Arbitrary<string> {
  const bucketForm = fc.tuple(spelled.prefix, spelled.word('tenants'), spelled.part('acme', 'other'), spelled.word('domains'),
    spelled.part('open', 'vault', 'news'), spelled.word('buckets'), spelled.part('pub', 'secret', 'photos'), spelled.word('images'), spelled.id)
    .map(([prefix, ...rest]) => `${prefix}/${rest.join('/')}`)
  const aliasForm = fc.tuple(spelled.prefix, spelled.part('open', 'vault', 'nope'), spelled.word('images'), spelled.id)
    .map(([prefix, ...rest]) => `${prefix}/${rest.join('/')}`)
  return fc.tuple(
    fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...AUTHORITIES) }),
    fc.oneof(bucketForm, aliasForm),
    fc.constantFrom(...PATH_QUERIES)
  ).map(([authority, path, query]) => `${authority}${path}${query}`).filter((target) => target.length <= 8000)
}

const literal = (word: string): fc.Arbitrary<string> => fc.constant(word)
const hostileTarget = routeTarget({ prefix: fc.constantFrom('', '/api/v1'), word: literal, id: hostileId, part: partOf })

/** A word with some of its characters percent-encoded (upper or lower case hex): the same URL under RFC 3986. */
function encodedSpelling (word: string): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom('plain', 'lower', 'upper'), { minLength: word.length, maxLength: word.length }).map((ways) => [...word].map((char, i) => {
    const hex = char.charCodeAt(0).toString(16).padStart(2, '0')
    return ways[i] === 'lower' ? `%${hex}` : ways[i] === 'upper' ? `%${hex.toUpperCase()}` : char
  }).join(''))
}

const encodedTarget = routeTarget({
  prefix: fc.oneof(fc.constant(''), fc.constant('/api/v1'), fc.tuple(encodedSpelling('api'), encodedSpelling('v1')).map(([api, v1]) => `/${api}/${v1}`)),
  word: encodedSpelling,
  id: fc.constantFrom('ok.jpg', 'x.jpg', 'images/ok.jpg', 'pub/images/ok.jpg', 'open/images/ok.jpg').chain(encodedSpelling),
  part: (...legit: string[]) => fc.constantFrom(...legit).chain(encodedSpelling)
})

test('paths: dot segments, encoded separators, junk and long parts on every route form never escape the bucket (raw socket)', async (t) => {
  const { app, port, originals } = await pathApp(t)
  const numRuns = 1500
  const statuses: Record<number, number> = {}
  await fc.assert(fc.asyncProperty(hostileTarget, async (target) => {
    const answer = await raw(port, target)
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
    await checkPathAnswer(target, answer, originals, app)
  }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases, statuses ${JSON.stringify(statuses)}`)
})

/** Sends each generated target over a socket and checks the answer against the bucket it names. */
async function checkPathTargets (t: Parameters<typeof buildTestApp>[0], targets: fc.Arbitrary<string>, numRuns: number): Promise<void> {
  const { app, port, originals } = await pathApp(t)
  await fc.assert(fc.asyncProperty(targets, async (target) => {
    await checkPathAnswer(target, await raw(port, target), originals, app)
  }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases`)
}

test('paths: percent-encoded spellings of the route words address the image they name, or none (raw socket)', async (t) => {
  await checkPathTargets(t, encodedTarget, 300)
})

/** Bytes the HTTP parser itself refuses: control characters, space, DEL, raw UTF-8, an oversized target. */
const rawByteTarget: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom('/open/images/ok.jpg', '/tenants/acme/domains/open/buckets/pub/images/ok.jpg', '/api/v1/open/images/ok.jpg'),
  fc.nat(),
  fc.oneof(
    fc.integer({ min: 0, max: 0x1f }).filter((code) => code !== 10 && code !== 13).map((code) => String.fromCharCode(code)),
    fc.constantFrom(' ', '\x7f', '\u00e9', '\u202e', '\u{1F600}', '\ufeff'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }).filter((text) => /[^\x21-\x7e]/.test(text) && !/[\r\n]/.test(text)),
    fc.integer({ min: 17_000, max: 20_000 }).map((n) => 'a'.repeat(n))
  )
).map(([path, at, inserted]) => {
  const index = 1 + (at % (path.length - 1))
  return path.slice(0, index) + inserted + path.slice(index)
})

test('paths: raw bytes the HTTP parser refuses still get an allowed status and the error shape (raw socket)', async (t) => {
  await checkPathTargets(t, rawByteTarget, 120)
})

// ---------------------------------------------------------------------------------------------
// Properties 2–4: query parameters and headers on valid images, through inject.

interface Source { file: string, width: number, height: number, pages: number }
const SOURCES: Source[] = [
  { file: 'photo.jpg', width: 48, height: 32, pages: 1 },
  { file: 'alpha.png', width: 24, height: 24, pages: 1 },
  { file: 'anim.gif', width: 16, height: 16, pages: 5 },
  { file: 'long.gif', width: 12, height: 12, pages: 10 }
]

async function imageOriginals (): Promise<Record<string, Buffer>> {
  const square = await sharp({ create: { width: 12, height: 12, channels: 4, background: { r: 255, g: 0, b: 255, alpha: 1 } } }).png().toBuffer()
  const alpha = await sharp({ create: { width: 24, height: 24, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: square, left: 6, top: 6 }]).png().toBuffer()
  return {
    'acme/open/pub/photo.jpg': await makeJpeg(48, 32),
    'acme/open/pub/alpha.png': alpha,
    'acme/open/pub/anim.gif': await makeAnimatedGif(16, 16, 5),
    'acme/open/pub/long.gif': await makeAnimatedGif(12, 12, 10),
    // Beyond the output limits as they are: a side over 256, more pixels than 20000.
    'acme/open/pub/wide.png': await sharp({ create: { width: 300, height: 10, channels: 3, background: '#808080' } }).png().toBuffer(),
    'acme/open/pub/big.png': await sharp({ create: { width: 160, height: 160, channels: 3, background: '#808080' } }).png().toBuffer()
  }
}

async function imageApp (t: Parameters<typeof buildTestApp>[0], originals?: Record<string, Buffer>): Promise<TestApp> {
  const mark = await sharp({ create: { width: 8, height: 4, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0.5 } } }).png().toBuffer()
  return await buildTestApp(t, { originals: originals ?? await imageOriginals(), files: { 'mark.png': mark }, logic: LOGIC, env: ENV })
}

const imagePath = (source: fc.Arbitrary<Source>): fc.Arbitrary<{ path: string, source: Source }> => fc.tuple(
  fc.constantFrom('', '/api/v1'),
  fc.constantFrom('/open/images/', '/tenants/acme/domains/open/buckets/pub/images/'),
  source
).map(([prefix, route, chosen]) => ({ path: `${prefix}${route}${chosen.file}`, source: chosen }))

const FITS = ['cover', 'contain', 'fill', 'inside', 'outside']
const POSITIONS = ['center', 'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'attention', 'entropy']
const FORMATS = ['auto', 'jpeg', 'png', 'webp', 'gif']
const FLAGS = ['enlarge', 'lossless', 'progressive', 'sharpen', 'wm']

const hundredths = (min: number, max: number): fc.Arbitrary<string> =>
  fc.integer({ min: Math.round(min * 100), max: Math.round(max * 100) }).map((n) => String(n / 100))
const hex = (lengths: number[]): fc.Arbitrary<string> => fc.constantFrom(...lengths).chain((length) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength: length }))

/** Values the parameter table accepts, within the small limits (no avif: its encoder is slow). */
const VALID_VALUES: Record<string, fc.Arbitrary<string>> = {
  w: fc.integer({ min: 1, max: LIMITS.dimension }).map(String),
  h: fc.integer({ min: 1, max: LIMITS.dimension }).map(String),
  dpr: hundredths(1, 4),
  fit: fc.constantFrom(...FITS),
  pos: fc.constantFrom(...POSITIONS),
  fp: fc.tuple(hundredths(0, 1), hundredths(0, 1)).map(([x, y]) => `${x},${y}`),
  fm: fc.constantFrom(...FORMATS, 'json'),
  q: fc.integer({ min: 1, max: 100 }).map(String),
  blur: hundredths(0.3, 100),
  rot: fc.constantFrom('0', '90', '180', '270'),
  flip: fc.constantFrom('h', 'v', 'hv'),
  bg: fc.tuple(fc.constantFrom('', '#'), hex([3, 6, 8])).map(([hash, digits]) => hash + digits),
  rect: fc.tuple(fc.nat(200), fc.nat(200), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 })).map((region) => region.join(',')),
  ar: fc.tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 9999 })).map(([w, h]) => `${w}:${h}`),
  ...Object.fromEntries(FLAGS.map((flag) => [flag, fc.constantFrom('0', '1')]))
}

const JUNK_VALUES: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '-1', '0', '-0', '00', '1e3', '0x10', '1.', '.5', 'NaN', 'Infinity', '+10', ' 10', '10 ', '1,2', '0.5,0.5,0.5',
    ',', 'true', 'avif', 'COVER', '#', '%', '%zz', '%00', '%2', '%31%30', '%E2%80%AE', '%C3%A9', '#ggg', '1/2', '[]', '{}', 'null'),
  fc.integer({ min: 7, max: 400 }).map((n) => '9'.repeat(n)),
  fc.tuple(fc.integer({ min: -5, max: 500 }), fc.stringMatching(/^\d{1,25}$/)).map(([whole, fraction]) => `${whole}.${fraction}`),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.integer({ min: 200, max: 3000 }).map((n) => 'x'.repeat(n)),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme-ascii', maxLength: 8 }).map(encodeURIComponent)
)

const PARAMETER_NAMES = ['rule', 's', ...Object.keys(VALID_VALUES)]

/** Encodes some characters of a query name or value: the same parameter once decoded. */
function maybeEncoded (text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof({ weight: 6, arbitrary: text }, { weight: 1, arbitrary: text.chain((value) => /^[A-Za-z0-9.,#-]*$/.test(value) ? encodedSpelling(value.replaceAll('#', '%23')) : fc.constant(value)) })
}

const queryName: fc.Arbitrary<string> = fc.oneof(
  { weight: 24, arbitrary: maybeEncoded(fc.constantFrom(...PARAMETER_NAMES)) },
  { weight: 1, arbitrary: fc.constantFrom('W', 'FM', 'width', 'format', '', 'w ', 'w[]', 'w%00', '__proto__', 'constructor', 'toString') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).map(encodeURIComponent) }
)

function valueFor (name: string): fc.Arbitrary<string> {
  const valid = (Object.hasOwn(VALID_VALUES, name) ? VALID_VALUES[name] : undefined) ?? (name === 'rule' ? fc.constantFrom('thumb', 'nope') : fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/))
  return fc.oneof({ weight: 8, arbitrary: maybeEncoded(valid.map((value) => value.replaceAll('#', '%23'))) }, { weight: 2, arbitrary: JUNK_VALUES })
}

const queryPair: fc.Arbitrary<{ name: string, text: string }> = queryName.chain((name) => {
  const plain = decoded(name) ?? name
  return fc.oneof(
    { weight: 9, arbitrary: valueFor(plain).map((value) => ({ name: plain, text: `${name}=${value}` })) },
    { weight: 1, arbitrary: fc.constant({ name: plain, text: name }) }
  )
})

/** Mixed valid and invalid pairs; sometimes one repeated, sometimes with empty pairs around. */
const hostileQuery: fc.Arbitrary<string> = fc.tuple(
  fc.uniqueArray(queryPair, { selector: (pair) => pair.name, minLength: 1, maxLength: 4 }),
  fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.nat(), valueFor('w')) }),
  fc.constantFrom('&', '&', '&', '&&')
).map(([pairs, repeat, separator]) => {
  const texts = pairs.map((pair) => pair.text)
  if (repeat !== null && pairs.length > 0) {
    const [index, value] = repeat
    const name = (pairs[index % pairs.length]?.text ?? 'w=').split('=')[0] ?? 'w'
    texts.push(`${name}=${value}`)
  }
  return texts.join(separator)
})

function plusDecoded (text: string): string | null {
  return decoded(text.replaceAll('+', ' '))
}

const decimalIn = (value: string, min: number, max: number): boolean => /^\d+(\.\d+)?$/.test(value) && Number(value) >= min && Number(value) <= max

/** False when the value is outside what the contract allows for the parameter; true when allowed or the spec does not say. */
function specAllows (name: string, value: string): boolean {
  switch (name) {
    case 'w':
    case 'h':
      return /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= LIMITS.dimension
    // More than two decimals: the dpr property below.
    case 'dpr': return decimalIn(value, 1, 4)
    case 'fit': return FITS.includes(value)
    case 'pos': return POSITIONS.includes(value)
    case 'fp': {
      const parts = value.split(',')
      return parts.length === 2 && parts.every((part) => decimalIn(part, 0, 1))
    }
    case 'fm': return [...FORMATS, 'avif', 'json'].includes(value)
    case 'rect': {
      const parts = value.split(',')
      return parts.length === 4 && parts.every((part, index) => /^\d{1,6}$/.test(part) && Number(part) >= (index < 2 ? 0 : 1))
    }
    case 'ar': return /^[1-9]\d{0,3}:[1-9]\d{0,3}$/.test(value)
    case 'q': return /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 100
    case 'blur': return decimalIn(value, 0.3, 100)
    case 'rot': return /^\d+$/.test(value) && [0, 90, 180, 270].includes(Number(value))
    case 'flip': return ['h', 'v', 'hv'].includes(value)
    case 'bg': return /^#?([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(value)
    case 'enlarge':
    case 'lossless':
    case 'progressive':
    case 'sharpen':
    case 'wm':
      return value === '0' || value === '1'
    default: return true
  }
}

/** Why the contract refuses the query (unknown, repeated or out-of-range parameter), or null when it does not say. */
function specRefusal (rawQuery: string): string | null {
  const seen = new Set<string>()
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue
    const separator = pair.indexOf('=')
    const name = plusDecoded(separator === -1 ? pair : pair.slice(0, separator))
    const value = plusDecoded(separator === -1 ? '' : pair.slice(separator + 1))
    if (name === null || value === null) return `'${pair}' is not percent-encoded correctly`
    if (seen.has(name)) return `'${name}' is repeated`
    seen.add(name)
    if (!PARAMETER_NAMES.includes(name)) return `'${name}' is unknown`
    if (!specAllows(name, value)) return `'${name}=${value.slice(0, 40)}' is out of range`
  }
  return null
}

function errorOf (answer: Answer): { code: string, message: string } {
  return (JSON.parse(answer.body.toString('utf8')) as { error: { code: string, message: string } }).error
}

test('parameters: arbitrary query strings on a valid image: allowed statuses, refusals per the contract, outputs within the limits', async (t) => {
  const originals = await imageOriginals()
  const app = await imageApp(t, originals)
  const numRuns = 1000
  let served = 0
  const statuses: Record<number, number> = {}
  await fc.assert(fc.asyncProperty(imagePath(fc.constantFrom(...SOURCES)), hostileQuery, fc.constantFrom<'GET' | 'HEAD'>('GET', 'GET', 'GET', 'GET', 'GET', 'HEAD'),
    async ({ path, source }, query, method) => {
      const url = `${path}?${query}`
      const answer = await inject(app, { method, url })
      checkAnswer(answer, url, { method, app })
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
      const refusal = specRefusal(query)
      if (refusal !== null) {
        assert.equal(answer.status, 400, `${url}: ${refusal}, yet ${answer.status}`)
        if (method === 'GET') assert.equal(errorOf(answer).code, 'INVALID_PARAMETER', url)
      }
      if (answer.status !== 200 || method === 'HEAD') return
      // An untouched original (no transformation asked): the passthrough property below.
      if (answer.body.equals(originals[`acme/open/pub/${source.file}`] ?? Buffer.alloc(0))) return
      served++
      if (answer.headers['content-type'] === 'application/json') {
        // fm=json: the info document describes an output within the limits, like the image itself.
        const { output } = JSON.parse(answer.body.toString('utf8')) as { output: { width: number, height: number } }
        assert.ok(output.width <= LIMITS.dimension && output.height <= LIMITS.dimension && output.width * output.height <= LIMITS.pixels, `${url}: ${JSON.stringify(output)}`)
        return
      }
      const image = await checkImage(answer, url, source.pages)
      const format = /(?:^|&)fm=(jpeg|png|webp|gif)(?:&|$)/.exec(query)?.[1]
      if (format !== undefined) assert.equal(image.format, format, `${url}: fm=${format}`)
    }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases, statuses ${JSON.stringify(statuses)}, ${served} transformed images decoded`)
})

test('parameters: dpr with more than two decimals is refused naming dpr (1…4, at most two decimals)', async (t) => {
  const app = await imageApp(t)
  const numRuns = 60
  const dpr = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.stringMatching(/^\d{3,6}$/)).map(([whole, fraction]) => `${whole}.${fraction}`)
  await fc.assert(fc.asyncProperty(dpr, fc.integer({ min: 1, max: 40 }), async (value, width) => {
    const url = `/open/images/photo.jpg?w=${width}&dpr=${value}`
    const answer = await inject(app, { url })
    checkAnswer(answer, url, { app })
    assert.equal(answer.status, 400, `${url}: ${answer.status}`)
    const error = errorOf(answer)
    assert.equal(error.code, 'INVALID_PARAMETER', url)
    assert.match(error.message, /'dpr'/, url)
  }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases`)
})

test('passthrough: an original delivered untouched is its own bytes, whatever its size (no re-encode)', async (t) => {
  // The output limits bound what the service renders; an untouched original is not rendered, and
  // only LIMITS_MAX_SOURCE_PIXELS applies to it.
  const originals = await imageOriginals()
  const app = await imageApp(t, originals)
  const numRuns = 40
  const beyond = fc.constantFrom(
    { file: 'long.gif', width: 12, height: 12, pages: 10 },
    { file: 'wide.png', width: 300, height: 10, pages: 1 },
    { file: 'big.png', width: 160, height: 160, pages: 1 }
  )
  await fc.assert(fc.asyncProperty(imagePath(beyond), fc.constantFrom('', '?', '?&', '?s=abc'), async ({ path, source }, query) => {
    const url = `${path}${query}`
    const answer = await inject(app, { url })
    checkAnswer(answer, url, { app })
    assert.equal(answer.status, 200, url)
    assert.ok(answer.body.equals(originals[`acme/open/pub/${source.file}`] ?? Buffer.alloc(0)), `${url}: not the original bytes`)
  }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases`)
})

interface Transform {
  w?: number, h?: number, dpr?: string, fit?: string, pos?: string, fp?: string, enlarge?: string, fm?: string, q?: string,
  lossless?: string, progressive?: string, blur?: string, sharpen?: string, rot?: string, flip?: string, bg?: string, wm?: string
}

const validTransform: fc.Arbitrary<Transform> = fc.record({
  w: fc.integer({ min: 1, max: LIMITS.dimension }),
  h: fc.integer({ min: 1, max: LIMITS.dimension }),
  dpr: hundredths(1, 4),
  fit: fc.constantFrom(...FITS),
  pos: fc.constantFrom(...POSITIONS),
  fp: fc.tuple(hundredths(0, 1), hundredths(0, 1)).map(([x, y]) => `${x},${y}`),
  enlarge: fc.constantFrom('0', '1'),
  fm: fc.constantFrom(...FORMATS),
  q: fc.integer({ min: 1, max: 100 }).map(String),
  lossless: fc.constantFrom('0', '1'),
  progressive: fc.constantFrom('0', '1'),
  blur: hundredths(0.3, 100),
  sharpen: fc.constantFrom('0', '1'),
  rot: fc.constantFrom('0', '90', '180', '270'),
  flip: fc.constantFrom('h', 'v', 'hv'),
  bg: fc.tuple(fc.constantFrom('', '#'), hex([3, 6, 8])).map(([hash, digits]) => hash + digits),
  wm: fc.constantFrom('0', '1')
}, { requiredKeys: [] })

/**
 * Sizes the spec fixes regardless of rounding: no box keeps the (turned) source; `contain`, and
 * `fill` with `enlarge`, deliver exactly the box (w×dpr, h×dpr); without `enlarge`, nothing but a
 * contain box is larger than the source.
 */
function expectedSize (transform: Transform, source: Source): { exact?: [number, number], atMost?: [number, number] } {
  const turned = transform.rot === '90' || transform.rot === '270'
  const [width, height] = turned ? [source.height, source.width] : [source.width, source.height]
  const dpr = Number(transform.dpr ?? '1')
  const enlarge = transform.enlarge === '1'
  const fit = transform.fit ?? 'cover'
  if (transform.w === undefined && transform.h === undefined) return { exact: [width, height] }
  if (transform.w !== undefined && transform.h !== undefined) {
    const box: [number, number] = [Math.round(transform.w * dpr), Math.round(transform.h * dpr)]
    if (fit === 'contain' || (fit === 'fill' && enlarge)) return { exact: box }
  }
  return enlarge ? {} : { atMost: [width, height] }
}

const overLimits = ([width, height]: [number, number]): boolean => width > LIMITS.dimension || height > LIMITS.dimension || width * height > LIMITS.pixels

test('valid transformations: 200 within the limits (exact sizes where the spec fixes them) or a 400 naming the limit', async (t) => {
  const originals = await imageOriginals()
  const app = await imageApp(t, originals)
  const numRuns = 350
  const sources = fc.constantFrom(...SOURCES)
  await fc.assert(fc.asyncProperty(imagePath(sources), validTransform, async ({ path, source }, transform) => {
    const query = Object.entries(transform).map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`).join('&')
    const url = `${path}?${query}`
    const answer = await inject(app, { url })
    checkAnswer(answer, url, { app })
    assert.ok(answer.status === 200 || answer.status === 400, `${url}: ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`)
    const expected = expectedSize(transform, source)
    if (answer.status === 400) {
      const { message } = errorOf(answer)
      const limit = /The output would be (\d+)x(\d+) pixels; LIMITS_MAX_OUTPUT_(DIMENSION|PIXELS) is (\d+)/.exec(message)
      assert.ok(limit !== null || /Parameter '\w+'/.test(message), `${url}: a 400 naming neither a parameter nor a limit: ${message}`)
      if (limit !== null) assert.ok(overLimits([Number(limit[1]), Number(limit[2])]), `${url}: refused although ${limit[1]}x${limit[2]} is within the limits`)
      if (expected.exact !== undefined) assert.ok(overLimits(expected.exact), `${url}: refused, yet the spec size ${expected.exact.join('x')} is within the limits: ${message}`)
      assert.equal(expected.atMost, undefined, `${url}: refused, yet it cannot be larger than the source: ${message}`)
      return
    }
    // An untouched original (every parameter at its default): the passthrough property.
    if (answer.body.equals(originals[`acme/open/pub/${source.file}`] ?? Buffer.alloc(0))) return
    const image = await checkImage(answer, url, source.pages)
    if (expected.exact !== undefined) {
      assert.ok(!overLimits(expected.exact), `${url}: served, yet the spec size ${expected.exact.join('x')} is over the limits`)
      assert.deepEqual([image.width, image.height], expected.exact, `${url}: size`)
    }
    if (expected.atMost !== undefined) {
      assert.ok(image.width <= expected.atMost[0] && image.height <= expected.atMost[1], `${url}: ${image.width}x${image.height} enlarged without enlarge=1`)
    }
    if (transform.fm !== undefined && transform.fm !== 'auto') assert.equal(image.format, transform.fm, `${url}: fm`)
    // Within the frame and pixel limits an animation stays animated (quarter turns and focal crops aside).
    const animatable = image.format === 'gif' || image.format === 'webp'
    const plainGeometry = transform.rot !== '90' && transform.rot !== '270' && !(transform.fp !== undefined && transform.w !== undefined && transform.h !== undefined && (transform.fit ?? 'cover') === 'cover')
    if (source.pages > 1 && animatable && plainGeometry && source.pages <= LIMITS.frames && source.pages * image.width * image.height <= LIMITS.pixels) {
      assert.equal(image.pages, source.pages, `${url}: an animation within the limits delivered as one frame`)
    }
  }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases`)
})

const printable = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength })
const MEDIA = ['image/avif', 'image/webp', 'image/*', '*/*', 'image/png', 'image/jpeg', 'text/html', 'application/json', 'image/apng', 'image/jxl', 'image/svg+xml']

const acceptHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.array(fc.tuple(fc.constantFrom(...MEDIA), fc.option(hundredths(0, 1))), { minLength: 1, maxLength: 6 })
    .map((items) => items.map(([type, q]) => q === null ? type : `${type};q=${q}`).join(',')),
  printable(200),
  fc.integer({ min: 500, max: 6000 }).map((n) => 'image/webp,'.repeat(Math.ceil(n / 11)))
)

const requestIdHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
  fc.stringMatching(/^[A-Za-z0-9._:-]{129,300}$/),
  printable(200),
  fc.constantFrom('', ' ', 'a b', '../../etc/passwd', '<script>', '%0d%0a', 'id\twith\ttabs', '{"json":1}', 'a'.repeat(4000))
)

/** `real` stands for the current ETag of the URL, filled in per case. */
const ifNoneMatchHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('*', ' * ', 'real', 'W/real', 'W/"nope", real', 'real, "other"', '""', 'W/', '"', ',,,'),
  hex([8, 32]).map((digits) => `"${digits}"`),
  printable(120)
)

test('headers: arbitrary Accept, If-None-Match and X-Request-Id: allowed statuses, a clean echoed request id, 304 only on a match', async (t) => {
  const app = await imageApp(t)
  const numRuns = 500
  const url = fc.tuple(imagePath(fc.constantFrom(...SOURCES.slice(0, 2))), fc.constantFrom('', '?w=20', '?w=20&fm=auto', '?rule=thumb', '?w=0'))
    .map(([{ path }, query]) => `${path}${query}`)
  const target = fc.oneof({ weight: 9, arbitrary: url }, { weight: 1, arbitrary: fc.constantFrom('/open/images/missing.jpg', '/nope/images/a.jpg', '/no/such/route') })
  await fc.assert(fc.asyncProperty(target, fc.constantFrom<'GET' | 'HEAD'>('GET', 'HEAD'), acceptHeader, ifNoneMatchHeader, requestIdHeader,
    async (path, method, accept, ifNoneMatch, requestId) => {
      const base: Record<string, string> = accept === undefined ? {} : { accept }
      const first = await inject(app, { url: path, headers: base })
      const etag = first.headers.etag ?? '"none"'
      const headers = { ...base }
      if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch.replace('real', etag)
      if (requestId !== undefined) headers['x-request-id'] = requestId
      const label = `${method} ${path} ${JSON.stringify(headers).slice(0, 400)}`
      const answer = await inject(app, { method, url: path, headers })
      checkAnswer(answer, label, { method, app })
      const echoed = answer.headers['x-request-id'] ?? ''
      assert.match(echoed, REQUEST_ID, `${label}: echoed request id ${JSON.stringify(echoed)}`)
      if (requestId !== undefined && REQUEST_ID.test(requestId)) assert.equal(echoed, requestId, `${label}: a valid request id is kept`)
      const given = headers['if-none-match']
      const matches = given !== undefined && first.status === 200 && (given.trim() === '*' || given.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag))
      if (answer.status === 304) assert.ok(matches, `${label}: 304 without a matching If-None-Match`)
      if (matches) assert.equal(answer.status, 304, `${label}: a matching If-None-Match`)
    }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases (${2 * numRuns} requests)`)
})

// ---------------------------------------------------------------------------------------------
// Property 5: bodies of POST /schema/validate.

const BODY_LIMIT = 4096
const TRANSFORMATION_FIELDS = ['width', 'height', 'fit', 'position', 'focalPoint', 'enlarge', 'dpr', 'format', 'quality', 'lossless',
  'progressive', 'blur', 'sharpen', 'rotate', 'flip', 'background', 'watermark']

const transformationLike = fc.dictionary(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TRANSFORMATION_FIELDS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }),
  fc.oneof(fc.integer({ min: -10, max: 20000 }), fc.double(), fc.constantFrom(...FITS, ...FORMATS, 'h', 'v', '#fff', null, true, false), fc.jsonValue({ maxDepth: 2 })),
  { maxKeys: 8 }
)

const bucketLogicLike = fc.record({
  rules: fc.dictionary(fc.string({ maxLength: 12 }), transformationLike, { maxKeys: 4 }),
  defaultRule: fc.oneof(fc.string({ maxLength: 8 }), transformationLike, fc.constant(null)),
  adHoc: fc.constantFrom('allow', 'deny', 'signed', 'sometimes', 1, null),
  cacheControl: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(null)),
  watermark: fc.oneof(fc.constant(null), fc.record({ required: fc.boolean(), opacity: fc.double(), position: fc.constantFrom(...POSITIONS, 'nowhere') }, { requiredKeys: [] }))
}, { requiredKeys: [] })

const hostileBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(bucketLogicLike, transformationLike).map((document) => JSON.stringify(document)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  // Many violations: the answer lists at most 100, each shortened.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 50, max: 300 }), fc.integer({ min: 1, max: 12 }))
      .map(([keys, length]) => JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`${'k'.repeat(length)}${i}`, i]))))
  },
  { weight: 1, arbitrary: fc.integer({ min: 600, max: 3000 }).map((length) => JSON.stringify({ ['p'.repeat(length)]: 1, rules: { ['r'.repeat(length)]: { width: -1 } } })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 600 }).map((depth) => '{"rules":'.repeat(depth) + '{}' + '}'.repeat(depth)) },
  // Not JSON at all, or nearly JSON.
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'NaN', 'undefined', '{\'a\':1}', '{"a":1,}', '\ufeff{}', '{"a":', '[1,2', '"\\u12"', '{"__proto__":{"x":1}}', '1e999', '-', '\u0000') },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).chain((json) => fc.nat({ max: Math.max(0, json.length - 1) }).map((cut) => json.slice(0, cut))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)) },
  // Around the body limit (SCHEMA_VALIDATE_MAX_BYTES=4096 here), up to 8 KiB.
  { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT - 64, max: 8192 }).map((size) => `{"rules":{}${' '.repeat(Math.max(0, size - 12))}}`) }
)

test('bodies: POST /schema/validate with arbitrary bodies: {"valid":true}, at most 100 violations, or an error in the shape', async (t) => {
  const app = await buildTestApp(t, { logic: LOGIC, env: { ...ENV, SCHEMA_VALIDATE_MAX_BYTES: String(BODY_LIMIT) } })
  const numRuns = 500
  const schema = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('bucket-logic', 'transformation') },
    { weight: 1, arbitrary: fc.constantFrom('logic-file', 'nope', '', '__proto__', 'transformation&schema=transformation', '%zz', undefined) })
  const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/octet-stream', 'text/plain; charset=latin1', 'nonsense')
  await fc.assert(fc.asyncProperty(schema, contentType, hostileBody, async (name, type, body) => {
    const url = name === undefined ? '/schema/validate' : `/schema/validate?schema=${name}`
    const label = `POST ${url} (${type ?? 'no content-type'}) ${JSON.stringify(body.toString()).slice(0, 300)}`
    const answer = await inject(app, { method: 'POST', url, payload: body, ...(type === undefined ? {} : { headers: { 'content-type': type } }) })
    // A 422 is the validation's answer ({"valid":false,...}), checked below.
    checkAnswer(answer, label, { method: 'POST', app, notErrors: [422] })
    assert.ok([200, 400, 413, 422].includes(answer.status), `${label}: ${answer.status}`)
    const size = Buffer.byteLength(body)
    // A content type that is not `type/subtype` cannot be read at all, whatever the size.
    const readable = type === undefined || /^[\w.+-]+\/[\w.+-]+/.test(type)
    if (!readable) {
      assert.ok(answer.status === 400 || answer.status === 413, `${label}: unreadable content type, yet ${answer.status}`)
      return
    }
    if (size > BODY_LIMIT) {
      assert.equal(answer.status, 413, `${label}: ${size} bytes over the ${BODY_LIMIT} limit`)
      assert.equal(errorOf(answer).code, 'BODY_TOO_LARGE', label)
      return
    }
    assert.notEqual(answer.status, 413, `${label}: ${size} bytes is within the limit`)
    const known = name === undefined || ['bucket-logic', 'transformation', 'logic-file'].includes(name)
    let json = true
    try {
      JSON.parse(body.toString('utf8'))
    } catch {
      json = false
    }
    if (!known || !json) {
      assert.equal(answer.status, 400, `${label}: ${known ? 'not JSON' : 'no such schema'}, yet ${answer.status}`)
      return
    }
    assert.ok(answer.status === 200 || answer.status === 422, `${label}: JSON for a known schema, yet ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`)
    const result = JSON.parse(answer.body.toString('utf8')) as unknown
    if (answer.status === 200) {
      assert.deepEqual(result, { valid: true }, label)
      return
    }
    assert.ok(isObject(result) && sameKeys(result, ['valid', 'errors']) && result.valid === false && Array.isArray(result.errors), `${label}: 422 body`)
    const errors = result.errors as unknown[]
    assert.ok(errors.length >= 1 && errors.length <= 100, `${label}: ${errors.length} violations listed`)
    for (const violation of errors) {
      assert.ok(isObject(violation) && typeof violation.path === 'string' && typeof violation.message === 'string', `${label}: violation ${JSON.stringify(violation)}`)
      assert.ok(violation.path.length <= 512 && violation.message.length <= 512, `${label}: a violation longer than 512 characters`)
    }
  }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases`)
})

// ---------------------------------------------------------------------------------------------
// Every answer, errors included, tells browsers not to sniff (X-Content-Type-Options: nosniff).

test('every response carries x-content-type-options: nosniff', async (t) => {
  const app = await imageApp(t)
  const port = await listenLocally(app.server)
  const numRuns = 200
  type Request = { kind: 'raw', target: string } | { kind: 'inject', request: InjectRequest }
  const request: fc.Arbitrary<Request> = fc.oneof(
    hostileTarget.map((target): Request => ({ kind: 'raw', target })),
    fc.tuple(imagePath(fc.constantFrom(...SOURCES)), hostileQuery).map(([{ path }, query]): Request => ({ kind: 'inject', request: { url: `${path}?${query}` } })),
    fc.constantFrom('/health', '/schemas/transformation.json', '/schemas/nope.json', '/no/such/route', '/open/images/photo.jpg', '/open/images/missing.jpg', '/open/images/photo.jpg?w=0')
      .map((url): Request => ({ kind: 'inject', request: { url } })),
    fc.tuple(fc.constantFrom('bucket-logic', 'transformation'), hostileBody)
      .map(([schema, payload]): Request => ({ kind: 'inject', request: { method: 'POST', url: `/schema/validate?schema=${schema}`, payload } }))
  )
  await fc.assert(fc.asyncProperty(request, async (chosen) => {
    const answer = chosen.kind === 'raw' ? await raw(port, chosen.target) : await inject(app, chosen.request)
    const label = chosen.kind === 'raw' ? chosen.target : `${chosen.request.method ?? 'GET'} ${chosen.request.url}`
    assert.equal(answer.headers['x-content-type-options'], 'nosniff', `${label}: ${answer.status} without x-content-type-options: nosniff`)
  }), { seed: SEED, numRuns })
  t.diagnostic(`${numRuns} cases`)
})
