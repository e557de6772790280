import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import sharp from 'sharp'
import { BUCKET_PATH, buildTestApp, defaultLogic } from '../helpers/build-app.ts'

/**
 * `rect` and `ar`, over a 200×100 source of four coloured quadrants, so that every cut,
 * turn and mirror can be read back from the delivered pixels.
 */
const RED = 'r'
const GREEN = 'g'
const BLUE = 'b'
const WHITE = 'w'
const COLOURS = { [RED]: '#ff0000', [GREEN]: '#00ff00', [BLUE]: '#0000ff', [WHITE]: '#ffffff' }

let quadrants: Buffer
before(async () => {
  const block = async (colour: string): Promise<Buffer> =>
    await sharp({ create: { width: 100, height: 50, channels: 3, background: colour } }).png().toBuffer()
  quadrants = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#000000' } })
    .composite([
      { input: await block(COLOURS[RED]), left: 0, top: 0 },
      { input: await block(COLOURS[GREEN]), left: 100, top: 0 },
      { input: await block(COLOURS[BLUE]), left: 0, top: 50 },
      { input: await block(COLOURS[WHITE]), left: 100, top: 50 }
    ])
    .png()
    .toBuffer()
})

/** Size and the colours near the four corners: `rg/bw` is the source itself. */
async function read (bytes: Buffer): Promise<{ size: string, corners: string }> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const at = (x: number, y: number): string => {
    const i = (y * info.width + x) * info.channels
    const bits = [data[i], data[i + 1], data[i + 2]].map((v) => (v ?? 0) > 128)
    if (bits.every(Boolean)) return WHITE
    return bits[0] === true ? RED : bits[1] === true ? GREEN : bits[2] === true ? BLUE : '?'
  }
  const right = info.width - 3
  const bottom = info.height - 3
  return { size: `${info.width}x${info.height}`, corners: `${at(2, 2)}${at(right, 2)}/${at(2, bottom)}${at(right, bottom)}` }
}

async function app (t: Parameters<typeof buildTestApp>[0], extraRules: Record<string, unknown> = {}) {
  const logic = defaultLogic() as { buckets: Record<string, { rules: Record<string, unknown> }> }
  Object.assign(logic.buckets['acme/news/photos']?.rules ?? {}, extraRules)
  return await buildTestApp(t, { originals: { 'acme/news/photos/q.png': quadrants }, logic })
}

describe('rect: a region of the oriented, rotated source, cut before resizing', () => {
  const cases: Array<[string, string, string]> = [
    ['rect=100,0,100,50', '100x50', 'gg/gg'],
    ['rect=0,0,200,50', '200x50', 'rg/rg'],
    ['rect=0,50,200,50&flip=h', '200x50', 'wb/wb'],
    ['rect=50,0,100,100&w=50', '50x50', 'rg/bw'],
    // Rotated 90° clockwise the source is 100×200: b r / w g, top half b r.
    ['rot=90&rect=0,0,100,100', '100x100', 'br/br'],
    ['rot=90&rect=0,0,100,100&flip=h', '100x100', 'rb/rb'],
    ['rot=90&rect=0,100,100,100&flip=v', '100x100', 'wg/wg'],
    ['rot=180&rect=0,0,100,50&flip=hv', '100x50', 'ww/ww'],
    ['rect=0,0,100,100&w=40&h=20', '40x20', 'rr/bb'],
    // A region is a source of its own size: no enlarge keeps it, enlarge scales it up.
    ['rect=100,50,50,50&w=200', '50x50', 'ww/ww'],
    ['rect=100,50,50,50&w=200&enlarge=1', '200x200', 'ww/ww']
  ]
  for (const [query, size, corners] of cases) {
    test(`${query} → ${size} ${corners}`, async (t) => {
      const testApp = await app(t)
      const response = await testApp.server.inject(`${BUCKET_PATH}/q.png?${query}`)
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(await read(response.rawPayload), { size, corners })
    })
  }

  test('a region not inside the source is a 400 naming rect and the source size', async (t) => {
    const testApp = await app(t)
    for (const query of ['rect=150,0,100,50', 'rect=0,0,200,101', 'rot=90&rect=0,0,200,100']) {
      const response = await testApp.server.inject(`${BUCKET_PATH}/q.png?${query}`)
      assert.equal(response.statusCode, 400, query)
      assert.equal(response.json().error.code, 'INVALID_PARAMETER')
      assert.match(response.json().error.message, /'rect'.*(200x100|100x200)/, query)
    }
  })

  test('the output limits hold for a region as for any source', async (t) => {
    const testApp = await buildTestApp(t, { originals: { 'acme/news/photos/q.png': quadrants }, env: { LIMITS_MAX_OUTPUT_DIMENSION: '300' } })
    const response = await testApp.server.inject(`${BUCKET_PATH}/q.png?rect=0,0,10,10&w=300&h=300&dpr=2&enlarge=1&fit=fill`)
    assert.equal(response.statusCode, 400)
    assert.match(response.json().error.message, /LIMITS_MAX_OUTPUT_DIMENSION/)
  })

  test('malformed regions are refused by the parser, naming rect', async (t) => {
    const testApp = await app(t)
    for (const value of ['0,0,0,10', '0,0,10', '-1,0,10,10', '0,0,10,10,1', 'a,b,c,d', '0,0,1e3,10']) {
      const response = await testApp.server.inject(`${BUCKET_PATH}/q.png?rect=${value}`)
      assert.equal(response.statusCode, 400, value)
      assert.match(response.json().error.message, /'rect'/)
    }
  })
})

describe('ar: the aspect ratio of the delivered image', () => {
  const cases: Array<[string, string]> = [
    ['w=160&ar=16:9', '160x90'],
    ['h=90&ar=16:9', '160x90'],
    ['w=80&ar=16:9&dpr=2', '160x90'],
    ['ar=1:1', '100x100'],
    ['ar=1:2', '50x100'],
    ['ar=4:1', '200x50'],
    ['rect=0,0,100,100&ar=2:1', '100x50'],
    ['w=90&ar=16:9&fit=contain', '90x51']
  ]
  for (const [query, size] of cases) {
    test(`${query} → ${size}`, async (t) => {
      const testApp = await app(t)
      const response = await testApp.server.inject(`${BUCKET_PATH}/q.png?${query}`)
      assert.equal(response.statusCode, 200, response.body)
      assert.equal((await read(response.rawPayload)).size, size)
    })
  }

  test('alone, it crops the centre by default, and follows pos and fp', async (t) => {
    const testApp = await app(t)
    const corners = async (query: string): Promise<string> =>
      (await read((await testApp.server.inject(`${BUCKET_PATH}/q.png?${query}`)).rawPayload)).corners
    assert.equal(await corners('ar=1:1'), 'rg/bw')
    assert.equal(await corners('ar=1:1&pos=west'), 'rr/bb')
    assert.equal(await corners('ar=1:1&fp=1,0.5'), 'gg/ww')
  })

  test('with both w and h it is a 400 naming ar; malformed ratios too', async (t) => {
    const testApp = await app(t)
    for (const query of ['w=10&h=10&ar=1:1', 'ar=16', 'ar=0:1', 'ar=16:09', 'ar=1:10000', 'ar=a:b']) {
      const response = await testApp.server.inject(`${BUCKET_PATH}/q.png?${query}`)
      assert.equal(response.statusCode, 400, query)
      assert.match(response.json().error.message, /'ar'/, query)
    }
  })

  test('a side that follows from ar is the same output as one given: one cache entry', async (t) => {
    const testApp = await app(t)
    const given = await testApp.server.inject(`${BUCKET_PATH}/q.png?w=100&h=100`)
    for (const query of ['w=100&ar=1:1', 'h=100&ar=1:1']) {
      const derived = await testApp.server.inject(`${BUCKET_PATH}/q.png?${query}`)
      assert.equal(derived.headers.etag, given.headers.etag, query)
      assert.equal(derived.headers['x-cache'], 'HIT', query)
    }
  })

  test('one ratio is one cache entry: 32:18 is 16:9', async (t) => {
    const testApp = await app(t)
    const a = await testApp.server.inject(`${BUCKET_PATH}/q.png?ar=16:9`)
    const b = await testApp.server.inject(`${BUCKET_PATH}/q.png?ar=32:18`)
    assert.equal(a.headers.etag, b.headers.etag)
    assert.equal(b.headers['x-cache'], 'HIT')
  })
})

describe('rules use the JSON forms rect and aspectRatio', () => {
  test('a rule with a region and a ratio delivers that crop', async (t) => {
    const testApp = await app(t, {
      topRight: { rect: [100, 0, 100, 50] },
      square: { aspectRatio: '1:1', width: 40 },
      both: { aspectRatio: '1:1', width: 40, height: 40 }
    })
    assert.deepEqual(await read((await testApp.server.inject(`${BUCKET_PATH}/q.png?rule=topRight`)).rawPayload), { size: '100x50', corners: 'gg/gg' })
    assert.equal((await read((await testApp.server.inject(`${BUCKET_PATH}/q.png?rule=square`)).rawPayload)).size, '40x40')
    const both = await testApp.server.inject(`${BUCKET_PATH}/q.png?rule=both`)
    assert.equal(both.statusCode, 400)
    assert.match(both.json().error.message, /'ar'/)
  })

  test('the transformation schema accepts the JSON forms and refuses bad ones', async (t) => {
    const testApp = await app(t)
    const validate = async (body: unknown) => await testApp.server.inject({ method: 'POST', url: '/schema/validate?schema=transformation', payload: body as object })
    assert.equal((await validate({ rect: [0, 0, 10, 10], aspectRatio: '16:9' })).statusCode, 200)
    for (const bad of [{ rect: [0, 0, 0, 10] }, { rect: [0, 0, 10] }, { rect: [0, 0, 10, 10, 1] }, { aspectRatio: '16/9' }, { aspectRatio: '0:1' }]) {
      assert.equal((await validate(bad)).statusCode, 422, JSON.stringify(bad))
    }
  })
})
