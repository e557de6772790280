import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import sharp from 'sharp'
import { BUCKET_PATH, buildTestApp, type TestApp } from '../helpers/build-app.ts'
import { pixelAt } from '../helpers/images.ts'

let black: Buffer
let whiteMark: Buffer
let greyMark: Buffer

before(async () => {
  black = await sharp({ create: { width: 1000, height: 800, channels: 3, background: '#000000' } }).png().toBuffer()
  whiteMark = await sharp({ create: { width: 200, height: 100, channels: 4, background: '#ffffff' } }).png().toBuffer()
  greyMark = await sharp({ create: { width: 200, height: 100, channels: 4, background: '#808080' } }).png().toBuffer()
})

function logicWith (watermark: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    buckets: {
      'acme/news/photos': { rules: { marked: { width: 500, watermark: true }, plain: { width: 500 } }, adHoc: 'allow', watermark, ...extra },
      'acme/news/nomark': { adHoc: 'allow', watermark: { required: true } }
    },
    watermarks: { 'acme/news/photos': 'mark.png' }
  }
}

async function app (t: import('node:test').TestContext, watermark: Record<string, unknown>, options: { mark?: Buffer, env?: Record<string, string> } = {}): Promise<TestApp> {
  return await buildTestApp(t, {
    originals: { 'acme/news/photos/black.png': black, 'acme/news/nomark/black.png': black },
    logic: logicWith(watermark),
    files: { 'mark.png': options.mark ?? whiteMark },
    ...(options.env === undefined ? {} : { env: options.env })
  })
}

async function fetchPng (testApp: TestApp, url: string): Promise<Buffer> {
  const response = await testApp.server.inject(url)
  assert.equal(response.statusCode, 200, response.body)
  return response.rawPayload
}

const grey = async (image: Buffer, x: number, y: number) => (await pixelAt(image, x, y)).r

describe('watermarks', () => {
  test('wm=1 puts the watermark at the anchor, with its width ratio, margin and opacity', async (t) => {
    const testApp = await app(t, { position: 'southeast', opacity: 0.5, widthRatio: 0.2, margin: 0.02 })
    // 500x400 output: the mark is 100x50, 10 px from the right and bottom edges → x 390…489, y 340…389.
    const image = await fetchPng(testApp, `${BUCKET_PATH}/black.png?w=500&wm=1`)
    const inside = await grey(image, 440, 365)
    assert.ok(inside > 115 && inside < 140, `half-opaque white over black is mid grey: ${inside}`)
    for (const [x, y] of [[385, 365], [494, 365], [440, 335], [440, 394], [10, 10], [250, 200], [60, 365]]) {
      assert.equal(await grey(image, x ?? 0, y ?? 0), 0, `(${x}, ${y}) is untouched`)
    }
    const plain = await fetchPng(testApp, `${BUCKET_PATH}/black.png?w=500`)
    assert.equal(await grey(plain, 440, 365), 0)
  })

  test('each of the nine anchors', async (t) => {
    const expected: Record<string, [number, number]> = {
      northwest: [60, 35], north: [250, 35], northeast: [440, 35],
      west: [60, 200], center: [250, 200], east: [440, 200],
      southwest: [60, 365], south: [250, 365], southeast: [440, 365]
    }
    for (const [position, [x, y]] of Object.entries(expected)) {
      const testApp = await app(t, { position, opacity: 1, widthRatio: 0.2, margin: 0.02 })
      const image = await fetchPng(testApp, `${BUCKET_PATH}/black.png?w=500&wm=1`)
      assert.ok(await grey(image, x, y) > 240, position)
    }
  })

  test('a rule with watermark: true applies it; wm=0 cannot remove a required one', async (t) => {
    const testApp = await app(t, { required: true, opacity: 1 })
    const byRule = await fetchPng(testApp, `${BUCKET_PATH}/black.png?rule=plain`)
    assert.ok(await grey(byRule, 440, 365) > 240)
    const refused = await fetchPng(testApp, `${BUCKET_PATH}/black.png?w=500&wm=0`)
    assert.ok(await grey(refused, 440, 365) > 240)
  })

  test('a required watermark applies to requests with no transformation too', async (t) => {
    const testApp = await app(t, { required: true, opacity: 1, widthRatio: 0.2, margin: 0.02 })
    const response = await testApp.server.inject(`${BUCKET_PATH}/black.png`)
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['content-type'], 'image/png')
    const meta = await sharp(response.rawPayload).metadata()
    assert.deepEqual([meta.width, meta.height], [1000, 800])
    assert.ok(await grey(response.rawPayload, 880, 730) > 240)
    assert.equal(await grey(response.rawPayload, 100, 100), 0)
  })

  test('a new watermark image changes the ETag', async (t) => {
    const white = await app(t, { opacity: 1 })
    const greyApp = await app(t, { opacity: 1 }, { mark: greyMark })
    const a = await white.server.inject(`${BUCKET_PATH}/black.png?w=500&wm=1`)
    const b = await greyApp.server.inject(`${BUCKET_PATH}/black.png?w=500&wm=1`)
    const none = await white.server.inject(`${BUCKET_PATH}/black.png?w=500`)
    assert.notEqual(a.headers.etag, b.headers.etag)
    assert.notEqual(a.headers.etag, none.headers.etag)
    assert.ok(await grey(b.rawPayload, 440, 365) < 140)
  })

  test('WATERMARK_ENABLED=false is a global off switch', async (t) => {
    const testApp = await app(t, { required: true, opacity: 1 }, { env: { WATERMARK_ENABLED: 'false' } })
    const response = await testApp.server.inject(`${BUCKET_PATH}/black.png`)
    assert.equal(response.statusCode, 200)
    assert.equal(await grey(response.rawPayload, 880, 730), 0)
  })

  test('a bucket asking for a watermark it does not have is 502 UPSTREAM_ERROR with a log line', async (t) => {
    const testApp = await app(t, { opacity: 1 })
    const response = await testApp.server.inject('/tenants/acme/domains/news/buckets/nomark/images/black.png?w=100')
    assert.equal(response.statusCode, 502)
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'UPSTREAM_ERROR')
    assert.ok(testApp.logs.some((line) => line.level === 50 && String(line.msg).includes('watermark')))
  })

  test('wm=1 on a bucket without a watermark is the client\'s 400, not an upstream error', async (t) => {
    const testApp = await buildTestApp(t, {
      originals: { 'acme/news/plain/black.png': black },
      logic: { buckets: { 'acme/news/plain': { adHoc: 'allow' } } }
    })
    const response = await testApp.server.inject('/tenants/acme/domains/news/buckets/plain/images/black.png?w=100&wm=1')
    assert.equal(response.statusCode, 400)
    const body = response.json<{ error: { code: string, message: string } }>()
    assert.equal(body.error.code, 'INVALID_PARAMETER')
    assert.match(body.error.message, /'wm'/)
  })

  test('watermark keys match buckets like bucket keys do (most specific, * for any part)', async (t) => {
    const testApp = await buildTestApp(t, {
      originals: { 'acme/sport/photos/black.png': black, 'other/news/photos/black.png': black },
      logic: {
        buckets: { '*/*/*': { adHoc: 'allow', watermark: { opacity: 1 } } },
        watermarks: { 'acme/*/*': 'white.png', '*/*/*': 'grey.png' }
      },
      files: { 'white.png': whiteMark, 'grey.png': greyMark }
    })
    const acme = await fetchPng(testApp, '/tenants/acme/domains/sport/buckets/photos/images/black.png?w=500&wm=1')
    assert.ok(await grey(acme, 440, 365) > 240)
    const other = await fetchPng(testApp, '/tenants/other/domains/news/buckets/photos/images/black.png?w=500&wm=1')
    const value = await grey(other, 440, 365)
    assert.ok(value > 100 && value < 160, `grey watermark: ${value}`)
  })

  test('an animated source keeps its frames and timing, and every frame is watermarked', async (t) => {
    // Black frames told apart by a red dot that moves (identical frames would be merged by the encoder).
    const dot = await sharp({ create: { width: 6, height: 6, channels: 3, background: '#ff0000' } }).png().toBuffer()
    const frames = await Promise.all([0, 1, 2].map(async (i) => await sharp({ create: { width: 200, height: 100, channels: 3, background: '#000000' } })
      .composite([{ input: dot, left: 100 + 20 * i, top: 20 }]).png().toBuffer()))
    const animated = await sharp(frames, { join: { animated: true } }).gif({ delay: [70, 80, 90], loop: 2 }).toBuffer()
    const testApp = await buildTestApp(t, {
      originals: { 'acme/news/photos/anim.gif': animated },
      logic: logicWith({ position: 'southeast', opacity: 1, widthRatio: 0.2, margin: 0 }),
      files: { 'mark.png': whiteMark }
    })
    const response = await testApp.server.inject(`${BUCKET_PATH}/anim.gif?w=100&wm=1&fm=webp`)
    assert.equal(response.statusCode, 200)
    const meta = await sharp(response.rawPayload).metadata()
    assert.equal(meta.pages, 3)
    assert.deepEqual(meta.delay, [70, 80, 90])
    assert.equal(meta.loop, 2)
    for (const page of [0, 1, 2]) {
      const frame = await sharp(response.rawPayload, { page }).png().toBuffer()
      assert.ok(await grey(frame, 95, 47) > 240, `frame ${page} is watermarked`)
      assert.equal(await grey(frame, 10, 10), 0, `frame ${page} is otherwise untouched`)
    }
  })

  test('a tall watermark on a wide output is scaled to fit', async (t) => {
    const tall = await sharp({ create: { width: 100, height: 1000, channels: 4, background: '#ffffff' } }).png().toBuffer()
    const testApp = await app(t, { opacity: 1, widthRatio: 0.5 }, { mark: tall })
    const response = await testApp.server.inject(`${BUCKET_PATH}/black.png?w=500&h=100&wm=1`)
    assert.equal(response.statusCode, 200)
  })
})
