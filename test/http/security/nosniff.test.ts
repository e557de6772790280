import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BUCKET_PATH, buildTestApp } from '../../helpers/build-app.ts'
import { makeJpeg } from '../../helpers/images.ts'
import { listenLocally, rawRequest } from '../../helpers/raw-http.ts'

test('every response carries X-Content-Type-Options: nosniff, errors and streams included', async (t) => {
  const app = await buildTestApp(t, { originals: { 'acme/news/photos/a.jpg': await makeJpeg(16, 16) } })
  const port = await listenLocally(app.server)
  const targets = [
    `${BUCKET_PATH}/a.jpg`,
    `${BUCKET_PATH}/a.jpg?w=8`,
    `${BUCKET_PATH}/missing.jpg`,
    `${BUCKET_PATH}/a.jpg?w=0`,
    `${BUCKET_PATH}/%zz`,
    '/%zz',
    '/no/such/route',
    '/healthcheck',
    '/schemas/transformation.json'
  ]
  for (const target of targets) {
    const response = await rawRequest(port, target)
    assert.ok(response.status > 0, target)
    assert.equal(response.headers['x-content-type-options'], 'nosniff', `${target} (${response.status})`)
  }
  const stream = await new Promise<string>((resolve, reject) => {
    void fetch(`http://127.0.0.1:${port}/hystrix.stream`).then((response) => {
      resolve(response.headers.get('x-content-type-options') ?? '')
      void response.body?.cancel()
    }, reject)
  })
  assert.equal(stream, 'nosniff')
})
