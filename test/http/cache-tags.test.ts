import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { BUCKET_PATH, buildTestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'

let photo: Buffer
before(async () => { photo = await makeJpeg(64, 48) })

const TAGS = 't:acme b:acme/news/photos i:acme/news/photos/2026/photo.jpg'

describe('purge tags on image answers', () => {
  test('Cache-Tag and Surrogate-Key name the tenant, the bucket and the image, on every form of the route', async (t) => {
    const app = await buildTestApp(t, { originals: { 'acme/news/photos/2026/photo.jpg': photo } })
    for (const url of [
      `${BUCKET_PATH}/2026/photo.jpg?w=32`,
      `/api/v1${BUCKET_PATH}/2026/photo.jpg`,
      '/shots/images/2026/photo.jpg?rule=thumb'
    ]) {
      const response = await app.server.inject(url)
      assert.equal(response.statusCode, 200, url)
      assert.equal(response.headers['cache-tag'], TAGS, url)
      assert.equal(response.headers['surrogate-key'], TAGS, url)
    }
  })

  test('a 304 and a HEAD carry the tags too, so a CDN revalidating keeps them', async (t) => {
    const app = await buildTestApp(t, { originals: { 'acme/news/photos/2026/photo.jpg': photo } })
    const url = `${BUCKET_PATH}/2026/photo.jpg?w=32`
    const first = await app.server.inject(url)
    const revalidated = await app.server.inject({ url, headers: { 'if-none-match': String(first.headers.etag) } })
    assert.equal(revalidated.statusCode, 304)
    assert.equal(revalidated.headers['cache-tag'], TAGS)
    const head = await app.server.inject({ method: 'HEAD', url })
    assert.equal(head.headers['surrogate-key'], TAGS)
  })

  test('errors carry no tags: there is nothing cached to purge', async (t) => {
    const app = await buildTestApp(t)
    const response = await app.server.inject(`${BUCKET_PATH}/missing.jpg`)
    assert.equal(response.statusCode, 404)
    assert.equal(response.headers['cache-tag'], undefined)
  })
})
