import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import sharp from 'sharp'
import { BUCKET_PATH, buildTestApp, type TestApp } from '../helpers/build-app.ts'
import { isBluish, isReddish, makeAlphaPng, makeAnimatedGif, makeJpeg, pixelAt } from '../helpers/images.ts'

let photo: Buffer
let rotatedPhoto: Buffer
let alpha: Buffer
let animated: Buffer

before(async () => {
  photo = await makeJpeg(800, 600)
  // Stored 600x800 sideways with EXIF orientation 6 (rotate 90° clockwise to display): displays 800x600.
  rotatedPhoto = await sharp(await makeJpeg(800, 600)).rotate(270).withMetadata({ orientation: 6 }).jpeg().toBuffer()
  alpha = await makeAlphaPng(400, 200)
  animated = await makeAnimatedGif(120, 80, 4)
})

async function app (t: import('node:test').TestContext): Promise<TestApp> {
  return await buildTestApp(t, {
    originals: {
      'acme/news/photos/photo.jpg': photo,
      'acme/news/photos/exif-rotated.jpg': rotatedPhoto,
      'acme/news/photos/alpha.png': alpha,
      'acme/news/photos/anim.gif': animated
    }
  })
}

async function get (testApp: TestApp, url: string, headers: Record<string, string> = {}) {
  const response = await testApp.server.inject({ method: 'GET', url, headers })
  assert.equal(response.statusCode, 200, `${url}: ${response.body.slice(0, 200)}`)
  const meta = await sharp(response.rawPayload).metadata()
  return { response, meta, body: response.rawPayload }
}

describe('image parameters', () => {
  test('w alone keeps the aspect ratio', async (t) => {
    const { meta } = await get(await app(t), `${BUCKET_PATH}/photo.jpg?w=200`)
    assert.equal(meta.width, 200)
    assert.equal(meta.height, 150)
  })

  test('h alone keeps the aspect ratio', async (t) => {
    const { meta } = await get(await app(t), `${BUCKET_PATH}/photo.jpg?h=300`)
    assert.deepEqual([meta.width, meta.height], [400, 300])
  })

  test('fit=cover (default) fills the box exactly', async (t) => {
    const { meta } = await get(await app(t), `${BUCKET_PATH}/photo.jpg?w=200&h=200`)
    assert.deepEqual([meta.width, meta.height], [200, 200])
  })

  test('fit=contain letterboxes inside the box with the background', async (t) => {
    const { meta, body } = await get(await app(t), `${BUCKET_PATH}/photo.jpg?w=200&h=200&fit=contain&bg=00ff00`)
    assert.deepEqual([meta.width, meta.height], [200, 200])
    const corner = await pixelAt(body, 100, 2)
    assert.ok(corner.g > 200 && corner.r < 60 && corner.b < 60, `letterbox is green: ${JSON.stringify(corner)}`)
  })

  test('fit=fill stretches, fit=inside fits within, fit=outside covers', async (t) => {
    const testApp = await app(t)
    const fill = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&h=50&fit=fill`)
    assert.deepEqual([fill.meta.width, fill.meta.height], [200, 50])
    const inside = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&h=200&fit=inside`)
    assert.deepEqual([inside.meta.width, inside.meta.height], [200, 150])
    const outside = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&h=200&fit=outside`)
    assert.deepEqual([outside.meta.width, outside.meta.height], [267, 200])
  })

  test('pos anchors the cover crop: west keeps the red half, east the blue half', async (t) => {
    const testApp = await app(t)
    const west = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=100&h=200&pos=west`)
    assert.ok(isReddish(await pixelAt(west.body, 50, 100)))
    const east = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=100&h=200&pos=east`)
    assert.ok(isBluish(await pixelAt(east.body, 50, 100)))
  })

  test('pos=attention and pos=entropy crop to the box', async (t) => {
    const testApp = await app(t)
    for (const pos of ['attention', 'entropy']) {
      const { meta } = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=120&h=120&pos=${pos}`)
      assert.deepEqual([meta.width, meta.height], [120, 120])
    }
  })

  test('fp moves the crop towards the focal point and overrides pos', async (t) => {
    const testApp = await app(t)
    const left = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=100&h=200&fp=0.1,0.5&pos=east`)
    assert.deepEqual([left.meta.width, left.meta.height], [100, 200])
    assert.ok(isReddish(await pixelAt(left.body, 50, 100)))
    const right = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=100&h=200&fp=0.9,0.5`)
    assert.ok(isBluish(await pixelAt(right.body, 50, 100)))
  })

  test('no upscaling unless enlarge=1', async (t) => {
    const testApp = await app(t)
    const plain = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=1600`)
    assert.equal(plain.meta.width, 800)
    const enlarged = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=1600&enlarge=1`)
    assert.equal(enlarged.meta.width, 1600)
  })

  test('dpr multiplies the CSS size', async (t) => {
    const { meta } = await get(await app(t), `${BUCKET_PATH}/photo.jpg?w=100&h=50&dpr=2.5`)
    assert.deepEqual([meta.width, meta.height], [250, 125])
  })

  test('fm selects each output format with its content type', async (t) => {
    const testApp = await app(t)
    const expected = { jpeg: 'jpeg', png: 'png', webp: 'webp', avif: 'heif', gif: 'gif' } as const
    for (const [fm, sharpFormat] of Object.entries(expected)) {
      const { meta, response } = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=64&fm=${fm}`)
      assert.equal(meta.format, sharpFormat, fm)
      assert.equal(response.headers['content-type'], `image/${fm}`)
      assert.equal(response.headers.vary, undefined)
    }
  })

  test('fm=auto negotiates AVIF, then WebP, then JPEG, and varies on Accept', async (t) => {
    const testApp = await app(t)
    const url = `${BUCKET_PATH}/photo.jpg?w=64&fm=auto`
    const avif = await get(testApp, url, { accept: 'image/avif,image/webp,*/*' })
    assert.equal(avif.response.headers['content-type'], 'image/avif')
    assert.equal(avif.response.headers.vary, 'Accept')
    const webp = await get(testApp, url, { accept: 'image/webp,*/*' })
    assert.equal(webp.response.headers['content-type'], 'image/webp')
    const jpeg = await get(testApp, url, { accept: '*/*' })
    assert.equal(jpeg.response.headers['content-type'], 'image/jpeg')
    assert.notEqual(avif.response.headers.etag, webp.response.headers.etag)
  })

  test('fm=auto keeps alpha as PNG for clients without WebP/AVIF', async (t) => {
    const { response, meta } = await get(await app(t), `${BUCKET_PATH}/alpha.png?w=100&fm=auto`, { accept: 'image/*' })
    assert.equal(response.headers['content-type'], 'image/png')
    assert.equal(meta.hasAlpha, true)
  })

  test('AVIF_ENABLED=false turns fm=avif into WebP and auto into WebP', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo }, env: { AVIF_ENABLED: 'false' } })
    const explicit = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=64&fm=avif`)
    assert.equal(explicit.meta.format, 'webp')
    const auto = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=64&fm=auto`, { accept: 'image/avif,image/webp' })
    assert.equal(auto.meta.format, 'webp')
  })

  test('q changes the encoded size; default quality comes from QUALITY_JPEG', async (t) => {
    const testApp = await app(t)
    const low = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=400&q=10`)
    const high = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=400&q=95`)
    assert.ok(low.body.length < high.body.length)
    const lowDefault = await buildTestApp(t, { originals: { 'acme/news/photos/photo.jpg': photo }, env: { QUALITY_JPEG: '10' } })
    const byDefault = await get(lowDefault, `${BUCKET_PATH}/photo.jpg?w=400`)
    assert.equal(byDefault.body.length, low.body.length)
  })

  test('lossless WebP reproduces pixels exactly', async (t) => {
    const { body } = await get(await app(t), `${BUCKET_PATH}/alpha.png?fm=webp&lossless=1`)
    const original = await sharp(alpha).raw().toBuffer()
    const decoded = await sharp(body).raw().toBuffer()
    assert.ok(original.equals(decoded))
  })

  test('JPEG is progressive by default and baseline with progressive=0; PNG interlaces on request', async (t) => {
    const testApp = await app(t)
    assert.equal((await get(testApp, `${BUCKET_PATH}/photo.jpg?w=100`)).meta.isProgressive, true)
    assert.equal((await get(testApp, `${BUCKET_PATH}/photo.jpg?w=100&progressive=0`)).meta.isProgressive, false)
    assert.equal((await get(testApp, `${BUCKET_PATH}/alpha.png?w=100&progressive=1`)).meta.isProgressive, true)
  })

  test('blur softens the red/blue edge, sharpen changes the bytes', async (t) => {
    const testApp = await app(t)
    const sharpEdge = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&fm=png`)
    const blurred = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&fm=png&blur=5`)
    const edge = await pixelAt(blurred.body, 99, 75)
    assert.ok(edge.r > 60 && edge.b > 60, `edge mixes colours: ${JSON.stringify(edge)}`)
    assert.ok(isReddish(await pixelAt(sharpEdge.body, 95, 75)))
    const sharpened = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&fm=png&sharpen=1`)
    assert.ok(!sharpened.body.equals(sharpEdge.body))
  })

  test('rot turns the image and w/h describe the rotated result', async (t) => {
    const { meta, body } = await get(await app(t), `${BUCKET_PATH}/photo.jpg?rot=90&w=300`)
    assert.deepEqual([meta.width, meta.height], [300, 400])
    // Red was on the left; after 90° clockwise it is at the top.
    assert.ok(isReddish(await pixelAt(body, 150, 20)))
    assert.ok(isBluish(await pixelAt(body, 150, 380)))
  })

  test('flip=h mirrors left-right, flip=v top-bottom', async (t) => {
    const testApp = await app(t)
    const mirrored = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&flip=h`)
    assert.ok(isBluish(await pixelAt(mirrored.body, 10, 75)))
    const upsideDown = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=200&flip=v&rot=90`)
    assert.ok(isBluish(await pixelAt(upsideDown.body, 75, 10)))
  })

  test('bg flattens alpha into JPEG', async (t) => {
    const { meta, body } = await get(await app(t), `${BUCKET_PATH}/alpha.png?fm=jpeg&bg=ff0000`)
    assert.equal(meta.hasAlpha, false)
    assert.ok(isReddish(await pixelAt(body, 2, 2)))
    const centre = await pixelAt(body, 200, 100)
    assert.ok(centre.g > 200 && centre.r < 60)
  })

  test('alpha without bg flattens onto white for JPEG and survives in WebP', async (t) => {
    const testApp = await app(t)
    const jpeg = await get(testApp, `${BUCKET_PATH}/alpha.png?fm=jpeg`)
    const corner = await pixelAt(jpeg.body, 2, 2)
    assert.ok(corner.r > 240 && corner.g > 240 && corner.b > 240)
    const webp = await get(testApp, `${BUCKET_PATH}/alpha.png?fm=webp&w=100`)
    assert.equal(webp.meta.hasAlpha, true)
    assert.equal((await pixelAt(webp.body, 1, 1)).alpha, 0)
  })

  test('EXIF orientation is applied and metadata is stripped', async (t) => {
    const testApp = await app(t)
    const { meta, body } = await get(testApp, `${BUCKET_PATH}/exif-rotated.jpg?w=400`)
    assert.deepEqual([meta.width, meta.height], [400, 300])
    assert.equal(meta.orientation, undefined)
    assert.equal(meta.exif, undefined)
    assert.equal(meta.icc, undefined)
    assert.equal(meta.space, 'srgb')
    assert.ok(isReddish(await pixelAt(body, 20, 150)))
  })

  test('animated GIF stays animated as GIF and WebP, and becomes one frame as JPEG', async (t) => {
    const testApp = await app(t)
    const gif = await get(testApp, `${BUCKET_PATH}/anim.gif?w=60`)
    assert.equal(gif.meta.pages, 4)
    assert.equal(gif.meta.width, 60)
    const webp = await get(testApp, `${BUCKET_PATH}/anim.gif?w=60&fm=webp`)
    assert.equal(webp.meta.pages, 4)
    const cropped = await get(testApp, `${BUCKET_PATH}/anim.gif?w=40&h=40&fp=0.8,0.2&rot=180&fm=webp`)
    assert.deepEqual([cropped.meta.pages, cropped.meta.width, cropped.meta.pageHeight ?? cropped.meta.height], [4, 40, 40])
    const quarterTurn = await get(testApp, `${BUCKET_PATH}/anim.gif?w=40&rot=90`)
    assert.equal(quarterTurn.meta.pages ?? 1, 1, 'libvips cannot turn frames by a quarter: the first frame')
    const jpeg = await get(testApp, `${BUCKET_PATH}/anim.gif?w=60&fm=jpeg`)
    assert.equal(jpeg.meta.pages, undefined)
    assert.deepEqual([jpeg.meta.width, jpeg.meta.height], [60, 40])
  })

  test('no parameter and no default rule: the original bytes, unchanged', async (t) => {
    const testApp = await app(t)
    const { response } = await get(testApp, `${BUCKET_PATH}/photo.jpg`)
    assert.ok(response.rawPayload.equals(photo))
    assert.equal(response.headers['content-type'], 'image/jpeg')
    assert.equal(response.headers['content-length'], String(photo.length))
  })

  test('a named rule applies; dpr and fm override it', async (t) => {
    const testApp = await app(t)
    const thumb = await get(testApp, `${BUCKET_PATH}/photo.jpg?rule=thumb`)
    assert.deepEqual([thumb.meta.width, thumb.meta.height], [100, 100])
    const retina = await get(testApp, `${BUCKET_PATH}/photo.jpg?rule=thumb&dpr=2&fm=webp`)
    assert.deepEqual([retina.meta.width, retina.meta.height, retina.meta.format], [200, 200, 'webp'])
  })

  test('a rule with format auto varies on Accept', async (t) => {
    const { response } = await get(await app(t), `${BUCKET_PATH}/photo.jpg?rule=hero`, { accept: 'image/webp' })
    assert.equal(response.headers['content-type'], 'image/webp')
    assert.equal(response.headers.vary, 'Accept')
  })

  test('the bucket default rule applies when nothing is asked', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/locked/photo.jpg': photo } })
    const { meta } = await get(testApp, '/tenants/acme/domains/news/buckets/locked/images/photo.jpg')
    assert.equal(meta.width, 50)
  })

  test('alias routes and /api/v1 routes serve the same image', async (t) => {
    const testApp = await app(t)
    const direct = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=120`)
    const aliased = await get(testApp, '/shots/images/photo.jpg?w=120')
    const prefixed = await get(testApp, `/api/v1${BUCKET_PATH}/photo.jpg?w=120`)
    const prefixedAlias = await get(testApp, '/api/v1/shots/images/photo.jpg?w=120')
    assert.ok(direct.body.equals(aliased.body))
    assert.equal(direct.response.headers.etag, prefixed.response.headers.etag)
    assert.equal(direct.response.headers.etag, prefixedAlias.response.headers.etag)
  })

  test('the parameter order does not change the result or the ETag', async (t) => {
    const testApp = await app(t)
    const a = await get(testApp, `${BUCKET_PATH}/photo.jpg?w=120&h=80&fm=webp`)
    const b = await get(testApp, `${BUCKET_PATH}/photo.jpg?fm=webp&h=80&w=120`)
    assert.equal(a.response.headers.etag, b.response.headers.etag)
    assert.equal(b.response.headers['x-cache'], 'HIT')
  })
})
