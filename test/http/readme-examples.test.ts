import assert from 'node:assert/strict'
import fs from 'node:fs'
import { test, type TestContext } from 'node:test'
import sharp from 'sharp'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config/load.ts'
import { createLogSink } from '../helpers/log-sink.ts'

/**
 * The README's "Try it" commands and docs/placeholder.html run against the embedded defaults
 * (`data/originals`, `config/local-logic.json`), as `npm start` serves them: examples that work as
 * written, and a page whose embedded info document is the one the service answers.
 */
async function defaultApp (t: TestContext) {
  const app = buildApp({ config: loadConfig({ env: { STATSD_ENABLED: 'false' } }), logger: createLogSink().logger })
  t.after(async () => { await app.server.close() })
  await app.server.ready()
  return app
}

/** `curl … "$B/<path>"` lines of the README's first shell block, with their flags. */
function tryItRequests (): Array<{ url: string, accept: string | undefined, line: string }> {
  const readme = fs.readFileSync('README.md', 'utf8')
  const block = /## Try it[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
  const base = /^B=http:\/\/localhost:8080(\S+)$/m.exec(block)?.[1]
  assert.ok(base !== undefined, 'the Try it block defines B')
  return block.split('\n').filter((line) => line.startsWith('curl')).map((line) => {
    const url = /"?(\$B|http:\/\/localhost:8080)([^"\s]*)"?/.exec(line)
    assert.ok(url !== null, line)
    return { url: url[1] === '$B' ? `${base}${url[2] ?? ''}` : url[2] ?? '', accept: /-H 'Accept: ([^']+)'/.exec(line)?.[1], line }
  })
}

test('every command of the README\'s Try it block answers as its comment says', async (t) => {
  const app = await defaultApp(t)
  const requests = tryItRequests()
  assert.ok(requests.length >= 10)
  for (const { url, accept, line } of requests) {
    const response = await app.server.inject({ url, headers: accept === undefined ? {} : { accept } })
    const expected = /# 400 {/.test(line) ? 400 : 200
    assert.equal(response.statusCode, expected, `${line}\n${response.body.slice(0, 300)}`)
    if (expected === 200 && String(response.headers['content-type']).startsWith('image/')) {
      const metadata = await sharp(response.rawPayload).metadata()
      assert.ok(metadata.width > 0, line)
    }
  }
})

test('the README\'s own numbers: the 16:9 crop is 800×450, and the editor\'s crop 400×400', async (t) => {
  const app = await defaultApp(t)
  const B = '/tenants/demo/domains/news/buckets/photos/images'
  const wide = await sharp((await app.server.inject(`${B}/kleiber.jpg?w=800&ar=16:9`)).rawPayload).metadata()
  assert.deepEqual([wide.width, wide.height], [800, 450])
  const face = await sharp((await app.server.inject(`${B}/kleiber.jpg?rect=1400,300,1600,1600&w=400`)).rawPayload).metadata()
  assert.deepEqual([face.width, face.height], [400, 400])
})

test('docs/placeholder.html embeds the info document the service answers for its image', async (t) => {
  const app = await defaultApp(t)
  const page = fs.readFileSync('docs/placeholder.html', 'utf8')
  const embedded = /<script type="application\/json" id="info">\s*([\s\S]*?)\s*<\/script>/.exec(page)?.[1]
  const image = /const IMAGE = 'http:\/\/localhost:8080([^']+)'/.exec(page)?.[1]
  assert.ok(embedded !== undefined && image !== undefined)
  const answer = await app.server.inject(`${image}&fm=json`)
  assert.equal(answer.statusCode, 200)
  assert.deepEqual(JSON.parse(embedded), answer.json())
})
