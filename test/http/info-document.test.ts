import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import fc from 'fast-check'
import sharp from 'sharp'
import { thumbHashToRGBA } from 'thumbhash'
import { BUCKET_PATH, buildTestApp, defaultLogic } from '../helpers/build-app.ts'
import { makeAlphaPng, makeAnimatedGif, makeJpeg } from '../helpers/images.ts'
import { createNoopMetrics, type Metrics } from '../../src/observability/metrics.ts'
import { sign, signedPayload } from '../../src/delivery/signature.ts'

/** The info document (`fm=json`), checked against what the image URL really delivers. */

let photo: Buffer
let alpha: Buffer
let animation: Buffer
before(async () => {
  photo = await makeJpeg(400, 300)
  alpha = await makeAlphaPng(120, 80)
  animation = await makeAnimatedGif(60, 40, 3)
})

const KEY = 'signing-key-0123456789'

function logic (): unknown {
  const document = defaultLogic() as { buckets: Record<string, unknown> }
  document.buckets['acme/news/signed'] = { rules: { small: { width: 50 } }, adHoc: 'signed' }
  return document
}

/** An app whose `transformation` metric records what each computation produced (its `format` tag). */
async function infoApp (t: Parameters<typeof buildTestApp>[0]) {
  const formats: string[] = []
  const metrics: Metrics = { ...createNoopMetrics(), transformation: (done) => { formats.push(String(done.format)) } }
  const app = await buildTestApp(t, {
    originals: {
      'acme/news/photos/a.jpg': photo,
      'acme/news/photos/alpha.png': alpha,
      'acme/news/photos/anim.gif': animation,
      'acme/news/locked/a.jpg': photo,
      'acme/news/signed/a.jpg': photo
    },
    logic: logic(),
    env: { SIGNING_KEYS: JSON.stringify({ 'acme/news': KEY }) },
    parts: { metrics }
  })
  return { app, formats }
}

async function delivered (bytes: Buffer): Promise<{ width: number, height: number, format: string }> {
  const metadata = await sharp(bytes).metadata()
  return { width: metadata.width, height: metadata.pageHeight ?? metadata.height, format: metadata.format === 'heif' ? 'avif' : metadata.format }
}

describe('fm=json: the info document', () => {
  test('its output is what the image URL delivers, for a matrix of parameters', async (t) => {
    const { app } = await infoApp(t)
    const cases: Array<[string, string, string?]> = [
      ['a.jpg', ''],
      ['a.jpg', 'w=100'],
      ['a.jpg', 'w=100&h=100'],
      ['a.jpg', 'w=100&h=50&fit=contain'],
      ['a.jpg', 'w=90&h=90&fit=inside'],
      ['a.jpg', 'w=300&h=50&fit=outside'],
      ['a.jpg', 'w=64&h=64&fp=0.2,0.8'],
      ['a.jpg', 'w=120&dpr=1.5'],
      ['a.jpg', 'w=500&enlarge=1'],
      ['a.jpg', 'rect=10,10,100,60'],
      ['a.jpg', 'rect=0,0,150,100&w=75'],
      ['a.jpg', 'ar=16:9'],
      ['a.jpg', 'w=100&ar=4:5'],
      ['a.jpg', 'rot=90&w=50'],
      ['a.jpg', 'rule=thumb'],
      ['a.jpg', 'rule=hero', 'image/avif,image/webp,*/*'],
      ['a.jpg', 'rule=hero', 'image/webp,*/*'],
      ['a.jpg', 'rule=hero', '*/*'],
      ['alpha.png', 'w=60'],
      ['anim.gif', 'w=30'],
      ['anim.gif', 'rot=90']
    ]
    for (const [image, query, accept = ''] of cases) {
      const url = `${BUCKET_PATH}/${image}?${query}`
      const headers = { accept }
      const imageAnswer = await app.server.inject({ url, headers })
      const infoAnswer = await app.server.inject({ url: `${url}${query === '' ? '' : '&'}fm=json`, headers })
      assert.equal(imageAnswer.statusCode, 200, url)
      assert.equal(infoAnswer.statusCode, 200, `${url} ${infoAnswer.body}`)
      assert.equal(infoAnswer.headers['content-type'], 'application/json')
      assert.deepEqual(infoAnswer.json().output, await delivered(imageAnswer.rawPayload), `${url} (${accept})`)
    }
  })

  test('source facts come from the header; the colour, ThumbHash and placeholder describe the output framing', async (t) => {
    const { app } = await infoApp(t)
    // The left half of the photo is red, the right half blue: a region of the left half is red.
    const document = (await app.server.inject(`${BUCKET_PATH}/a.jpg?rect=0,0,150,300&fm=json`)).json()
    assert.deepEqual(document.source, { width: 400, height: 300, format: 'jpeg', bytes: photo.length, pages: 1, hasAlpha: false })
    assert.deepEqual(document.output, { width: 150, height: 300, format: 'jpeg' })
    assert.match(document.dominantColor, /^#[0-9a-f]{6}$/)
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(document.dominantColor.slice(i, i + 2), 16))
    assert.ok((r ?? 0) > 200 && (g ?? 255) < 60 && (b ?? 255) < 60, document.dominantColor)

    const hash = thumbHashToRGBA(Buffer.from(document.thumbhash, 'base64'))
    assert.ok(hash.w <= 32 && hash.h <= 32 && hash.h > hash.w, `thumbhash ${hash.w}x${hash.h}`)

    const [prefix, data] = document.placeholder.split(',')
    assert.equal(prefix, 'data:image/webp;base64')
    const placeholder = await sharp(Buffer.from(data, 'base64')).metadata()
    assert.equal(placeholder.format, 'webp')
    assert.ok(placeholder.width <= 32 && placeholder.height <= 32)
    assert.equal(placeholder.height, 32, 'the placeholder keeps the output aspect (1:2)')
    assert.equal(placeholder.width, 16)
  })

  test('an original beyond the output limits is described as it is delivered: untouched, not refused', async (t) => {
    const app = await buildTestApp(t, { originals: { 'acme/news/photos/big.jpg': photo }, env: { LIMITS_MAX_OUTPUT_DIMENSION: '350' } })
    const image = await app.server.inject(`${BUCKET_PATH}/big.jpg`)
    assert.equal(image.statusCode, 200)
    const info = await app.server.inject(`${BUCKET_PATH}/big.jpg?fm=json`)
    assert.equal(info.statusCode, 200, info.body)
    assert.deepEqual(info.json().output, await delivered(image.rawPayload))
    // A transformation of it is still bounded, and so is its info document.
    assert.equal((await app.server.inject(`${BUCKET_PATH}/big.jpg?rot=90&fm=json`)).statusCode, 400)
  })

  test('a blurred output has a blurred placeholder: the info document shows no more than the image', async (t) => {
    const { app } = await infoApp(t)
    /** The pixel a quarter of the way across, on the middle row. */
    const quarter = async (bytes: Buffer): Promise<number[]> => {
      const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true })
      const offset = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 4)) * info.channels
      return [data[offset] ?? 0, data[offset + 1] ?? 0, data[offset + 2] ?? 0]
    }
    const placeholderOf = async (query: string): Promise<Buffer> =>
      Buffer.from(String((await app.server.inject(`${BUCKET_PATH}/a.jpg?${query}&fm=json`)).json().placeholder).split(',')[1] ?? '', 'base64')
    // The photo is red on the left and blue on the right: blurred hard, its left quarter turns purple.
    const image = await quarter((await app.server.inject(`${BUCKET_PATH}/a.jpg?w=100&blur=40`)).rawPayload)
    const blurred = await quarter(await placeholderOf('w=100&blur=40'))
    const plain = await quarter(await placeholderOf('w=100'))
    assert.ok((plain[2] ?? 0) < 30, `unblurred: red, ${plain.join(',')}`)
    assert.ok((image[2] ?? 0) > 40, `the blurred image carries blue: ${image.join(',')}`)
    for (const channel of [0, 2]) {
      assert.ok(Math.abs((blurred[channel] ?? 0) - (image[channel] ?? 0)) < 25, `placeholder ${blurred.join(',')} vs image ${image.join(',')}`)
    }
  })

  test('alpha and animation are reported from the source', async (t) => {
    const { app } = await infoApp(t)
    const png = (await app.server.inject(`${BUCKET_PATH}/alpha.png?fm=json`)).json()
    assert.deepEqual(png.source, { width: 120, height: 80, format: 'png', bytes: alpha.length, pages: 1, hasAlpha: true })
    const gif = (await app.server.inject(`${BUCKET_PATH}/anim.gif?fm=json`)).json()
    assert.equal(gif.source.pages, 3)
    assert.deepEqual(gif.output, { width: 60, height: 40, format: 'gif' })
  })

  test('cached and revalidated like an image: a HIT, a 304, and an ETag of its own', async (t) => {
    const { app, formats } = await infoApp(t)
    const url = `${BUCKET_PATH}/a.jpg?w=100&fm=json`
    const first = await app.server.inject(url)
    const second = await app.server.inject(url)
    assert.equal(first.headers['x-cache'], 'MISS')
    assert.equal(second.headers['x-cache'], 'HIT')
    assert.equal(second.body, first.body)
    assert.deepEqual(formats, ['json'], 'computed once per source version and framing')
    const revalidated = await app.server.inject({ url, headers: { 'if-none-match': String(first.headers.etag) } })
    assert.equal(revalidated.statusCode, 304)
    const image = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=100`)
    assert.notEqual(image.headers.etag, first.headers.etag)
    assert.equal(first.headers['cache-control'], image.headers['cache-control'])
  })

  test('for a negotiated format it varies on Accept', async (t) => {
    const { app } = await infoApp(t)
    const answers = await Promise.all(['image/avif,image/webp', 'image/webp', 'image/png'].map(async (accept) =>
      await app.server.inject({ url: `${BUCKET_PATH}/a.jpg?rule=hero&fm=json`, headers: { accept } })))
    assert.deepEqual(answers.map((answer) => answer.json().output.format), ['avif', 'webp', 'jpeg'])
    for (const answer of answers) assert.equal(answer.headers.vary, 'Accept')
    assert.equal(new Set(answers.map((answer) => answer.headers.etag)).size, 3)
  })

  test('under the same policy: deny, signatures, and the bare URL of a bucket with a default rule', async (t) => {
    const { app } = await infoApp(t)
    const locked = '/tenants/acme/domains/news/buckets/locked/images/a.jpg'
    assert.equal((await app.server.inject(`${locked}?w=10&fm=json`)).statusCode, 403)
    // Without other parameters it describes what the bare URL delivers: the bucket's default rule.
    const bare = await app.server.inject(`${locked}?fm=json`)
    assert.equal(bare.statusCode, 200)
    assert.equal(bare.json().output.width, 50)

    const signedPath = '/tenants/acme/domains/news/buckets/signed/images/a.jpg'
    assert.equal((await app.server.inject(`${signedPath}?w=20&fm=json`)).statusCode, 403)
    const signature = sign(KEY, signedPayload(signedPath, [['fm', 'json'], ['w', '20']]))
    const signed = await app.server.inject(`${signedPath}?w=20&fm=json&s=${signature}`)
    assert.equal(signed.statusCode, 200)
    assert.equal(signed.json().output.width, 20)
  })

  test('fm=json cannot be given twice, nor combined with another fm', async (t) => {
    const { app } = await infoApp(t)
    const response = await app.server.inject(`${BUCKET_PATH}/a.jpg?fm=webp&fm=json`)
    assert.equal(response.statusCode, 400)
    assert.match(response.json().error.message, /'fm'/)
  })

  test('property: never a full-size render, and always the delivered size', async (t) => {
    const { app, formats } = await infoApp(t)
    const query = fc.record({
      w: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
      h: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
      fit: fc.option(fc.constantFrom('cover', 'contain', 'fill', 'inside', 'outside'), { nil: undefined }),
      dpr: fc.option(fc.constantFrom('1.5', '2'), { nil: undefined }),
      enlarge: fc.option(fc.constantFrom('0', '1'), { nil: undefined }),
      rot: fc.option(fc.constantFrom('90', '180'), { nil: undefined }),
      rect: fc.option(fc.tuple(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 250 }), fc.integer({ min: 1, max: 200 })).map((r) => r.join(',')), { nil: undefined }),
      ar: fc.option(fc.constantFrom('16:9', '1:1', '4:5'), { nil: undefined })
    }).map((params) => Object.entries(params).filter(([, value]) => value !== undefined).map(([name, value]) => `${name}=${value}`).join('&'))
    await fc.assert(fc.asyncProperty(query, async (params) => {
      const url = `${BUCKET_PATH}/a.jpg?${params}`
      const before = formats.length
      const info = await app.server.inject(`${url}${params === '' ? '' : '&'}fm=json`)
      const computed = formats.slice(before)
      const image = await app.server.inject(url)
      assert.equal(info.statusCode, image.statusCode, `${url}: ${info.body.slice(0, 200)}`)
      if (image.statusCode !== 200) return
      // The info document cost one preview computation at most, and no image of any format.
      assert.ok(computed.length <= 1 && computed.every((format) => format === 'json'), `${url}: ${computed.join(',')}`)
      assert.deepEqual(info.json().output, await delivered(image.rawPayload), url)
    }), { numRuns: 60, seed: 1601 })
  })
})
