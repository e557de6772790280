import { test } from 'node:test'
import assert from 'node:assert/strict'
import sharp from 'sharp'
import { BUCKET_PATH, buildTestApp } from '../../helpers/build-app.ts'
import { makeAnimatedGif, makeJpeg, makePngBomb } from '../../helpers/images.ts'

/** every output bounded before decoding, whatever the parameters. */

interface ErrorBody { error: { code: string, message: string } }

test('fit=outside with enlarge cannot exceed LIMITS_MAX_OUTPUT_DIMENSION: a 400 naming it', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/photos/tall.jpg': await makeJpeg(64, 256) }, env: { LIMITS_MAX_OUTPUT_DIMENSION: '256' } })
  for (const query of ['w=256&h=1&fit=outside&enlarge=1', 'w=128&enlarge=1', 'h=200&w=100&fit=outside&enlarge=1&dpr=1.5', 'w=100&h=100&fp=0.5,0.5&enlarge=1&dpr=4']) {
    const response = await app.server.inject(`${BUCKET_PATH}/tall.jpg?${query}`)
    assert.equal(response.statusCode, 400, query)
    const { error } = response.json<ErrorBody>()
    assert.equal(error.code, 'INVALID_PARAMETER')
    assert.match(error.message, /LIMITS_MAX_OUTPUT_DIMENSION is 256/, query)
  }
  // Without enlarge the same box stays within the source, so within the limit.
  const ok = await app.server.inject(`${BUCKET_PATH}/tall.jpg?w=256&h=1&fit=outside`)
  assert.equal(ok.statusCode, 200)
  const { width, height } = await sharp(ok.rawPayload).metadata()
  assert.deepEqual([width, height], [64, 256])
})

test('LIMITS_MAX_OUTPUT_PIXELS bounds one frame', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/photos/a.jpg': await makeJpeg(200, 100) }, env: { LIMITS_MAX_OUTPUT_PIXELS: '5000' } })
  const refused = await app.server.inject(`${BUCKET_PATH}/a.jpg?w=101&h=50`)
  assert.equal(refused.statusCode, 400)
  assert.match(refused.json<ErrorBody>().error.message, /LIMITS_MAX_OUTPUT_PIXELS is 5000/)
  assert.equal((await app.server.inject(`${BUCKET_PATH}/a.jpg?w=100&h=50`)).statusCode, 200)
})

test('an animation beyond the frame or pixel limits is its first frame, with X-Animation: first-frame', async (t) => {
  const gif = await makeAnimatedGif(20, 20, 10)
  const app = await buildTestApp(t, {
    originals: { 'acme/news/photos/anim.gif': gif },
    env: { LIMITS_MAX_ANIMATION_FRAMES: '10', LIMITS_MAX_OUTPUT_PIXELS: '4000' }
  })
  const pagesOf = async (bytes: Buffer) => (await sharp(bytes, { animated: true }).metadata()).pages ?? 1
  // 10 frames of 20x20 = 4000 pixels: within both limits.
  const animated = await app.server.inject(`${BUCKET_PATH}/anim.gif?w=20`)
  assert.equal(animated.statusCode, 200)
  assert.equal(await pagesOf(animated.rawPayload), 10)
  assert.equal(animated.headers['x-animation'], undefined)
  // 10 frames of 21x21 > 4000 pixels: the first frame only, and the client can tell.
  const still = await app.server.inject(`${BUCKET_PATH}/anim.gif?w=21&enlarge=1`)
  assert.equal(still.statusCode, 200)
  assert.equal(await pagesOf(still.rawPayload), 1)
  assert.equal(still.headers['x-animation'], 'first-frame')
  // Cached answers say it too.
  const again = await app.server.inject(`${BUCKET_PATH}/anim.gif?w=21&enlarge=1`)
  assert.equal(again.headers['x-cache'], 'HIT')
  assert.equal(again.headers['x-animation'], 'first-frame')
})

test('LIMITS_MAX_ANIMATION_FRAMES keeps at most that many frames animated', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/photos/anim.gif': await makeAnimatedGif(8, 8, 6) }, env: { LIMITS_MAX_ANIMATION_FRAMES: '5' } })
  const response = await app.server.inject(`${BUCKET_PATH}/anim.gif?w=8&fm=webp`)
  assert.equal(response.statusCode, 200)
  assert.equal((await sharp(response.rawPayload, { animated: true }).metadata()).pages ?? 1, 1)
  assert.equal(response.headers['x-animation'], 'first-frame')
})

test('a passthrough obeys LIMITS_MAX_SOURCE_PIXELS: a 100000x100000 PNG is a 422, never served', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/photos/bomb.png': makePngBomb(100000, 100000) } })
  const response = await app.server.inject(`${BUCKET_PATH}/bomb.png`)
  assert.equal(response.statusCode, 422)
  assert.equal(response.json<ErrorBody>().error.code, 'SOURCE_TOO_MANY_PIXELS')
})
