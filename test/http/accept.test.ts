import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import { BUCKET_PATH, buildTestApp } from '../helpers/build-app.ts'
import { makeJpeg } from '../helpers/images.ts'

let photo: Buffer
before(async () => { photo = await makeJpeg(64, 48) })

/** `fm=auto` honours what the client says it accepts (RFC 9110 §12.5.1), q-values and case included. */
test('a format the client names with q=0 is not acceptable; types are case-insensitive; wildcards name no format', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/photos/a.jpg': photo } })
  const cases: Array<[string, string]> = [
    ['image/avif,image/webp,*/*', 'image/avif'],
    ['image/avif;q=0,image/webp', 'image/webp'],
    ['image/avif; q=0.0, image/webp;q=0.5', 'image/webp'],
    ['image/avif;q=0.000,image/webp;q=0,*/*', 'image/jpeg'],
    ['IMAGE/AVIF', 'image/avif'],
    ['image/webp;q=0.001', 'image/webp'],
    ['*/*', 'image/jpeg'],
    ['image/*', 'image/jpeg'],
    ['image/avifx,image/webpx', 'image/jpeg'],
    ['', 'image/jpeg']
  ]
  for (const [accept, type] of cases) {
    const response = await app.server.inject({ url: `${BUCKET_PATH}/a.jpg?w=32&fm=auto`, headers: { accept } })
    assert.equal(response.headers['content-type'], type, accept)
  }
})
