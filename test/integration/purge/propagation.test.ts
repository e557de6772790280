import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { GetItemCommand } from '@aws-sdk/client-dynamodb'
import { BUCKET_PATH, buildTestApp, type TestApp } from '../../helpers/build-app.ts'
import { startDynamoDbServer, type DynamoDbServer } from '../../helpers/dynamodb-server.ts'
import { makeJpeg } from '../../helpers/images.ts'

const TOKEN = 'purge-token-0123456789'
const POLL_MS = 200
const URL = `${BUCKET_PATH}/2026/a.jpg?w=32`
const IMAGE = { tenant: 'acme', domain: 'news', bucket: 'photos', imageId: '2026/a.jpg' }

// The service's DynamoDB client uses the default credential chain; dynalite accepts any keys.
const savedCredentials = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY }
let originals: string
before(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'local'
  process.env.AWS_SECRET_ACCESS_KEY = 'local'
  // One folder for every instance: same original versions, so their ETags can be compared.
  originals = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-originals-'))
  fs.mkdirSync(path.join(originals, 'acme/news/photos/2026'), { recursive: true })
  fs.writeFileSync(path.join(originals, 'acme/news/photos/2026/a.jpg'), await makeJpeg(64, 32))
  fs.writeFileSync(path.join(originals, 'acme/news/photos/b.jpg'), await makeJpeg(64, 32))
})
after(() => {
  if (savedCredentials.id === undefined) delete process.env.AWS_ACCESS_KEY_ID; else process.env.AWS_ACCESS_KEY_ID = savedCredentials.id
  if (savedCredentials.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY; else process.env.AWS_SECRET_ACCESS_KEY = savedCredentials.secret
  fs.rmSync(originals, { recursive: true, force: true })
})

async function instance (t: TestContext, env: Record<string, string>): Promise<TestApp> {
  return await buildTestApp(t, { env: { ADMIN_TOKEN: TOKEN, ORIGIN_FS_ROOT: originals, ...env }, startSource: true })
}

async function purge (app: TestApp, body: Record<string, unknown>): Promise<{ purgeId: string }> {
  const response = await app.admin.inject({ method: 'POST', url: '/admin/purge', headers: { authorization: `Bearer ${TOKEN}` }, payload: body })
  assert.equal(response.statusCode, 202, response.body)
  return response.json()
}

/**
 * Asks `app` until its answer passes `check`, within a bounded deadline: the other instance has
 * no event to wait for but its own answers. Returns the answer and the seconds since `since`.
 */
async function until (app: TestApp, check: (status: number, etag: string | undefined) => boolean, since: number, what: string) {
  const deadline = since + 10_000
  while (performance.now() < deadline) {
    const response = await app.server.inject(URL)
    const etag = response.headers.etag as string | undefined
    if (check(response.statusCode, etag)) return { status: response.statusCode, etag, cache: response.headers['x-cache'], seconds: (performance.now() - since) / 1000 }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  assert.fail(`timed out waiting for ${what}`)
}

/** A: purge, takedown and lift; B follows each, and a late instance C starts in the same state. */
async function propagates (t: TestContext, env: Record<string, string>, label: string): Promise<void> {
  const a = await instance(t, env)
  const b = await instance(t, env)
  const first = await b.server.inject(URL)
  assert.equal(first.statusCode, 200)
  const oldEtag = first.headers.etag
  assert.equal((await a.server.inject(URL)).headers.etag, oldEtag, 'both instances start alike')
  const otherImage = await b.server.inject(`${BUCKET_PATH}/b.jpg?w=32`)

  let started = performance.now()
  const { purgeId } = await purge(a, IMAGE)
  const onA = await a.server.inject(URL)
  assert.equal(onA.headers['x-cache'], 'MISS', 'the purging instance applies its purge at once')
  assert.notEqual(onA.headers.etag, oldEtag)
  const renewed = await until(b, (status, etag) => status === 200 && etag !== oldEtag, started, 'the purge on B')
  t.diagnostic(`${label}: purge on A to new bytes on B in ${renewed.seconds.toFixed(3)} s (poll ${POLL_MS} ms)`)
  assert.equal(renewed.cache, 'MISS')
  assert.equal(renewed.etag, onA.headers.etag, 'both instances derive the same generation from the record')
  assert.ok(b.logs.some((line) => line.purgeId === purgeId && String(line.msg).endsWith('in effect')))
  assert.equal((await b.server.inject(`${BUCKET_PATH}/b.jpg?w=32`)).headers.etag, otherImage.headers.etag, 'the other image is untouched')

  started = performance.now()
  await purge(a, { ...IMAGE, takedown: true })
  const down = await until(b, (status) => status === 451, started, 'the takedown on B')
  t.diagnostic(`${label}: takedown on A to 451 on B in ${down.seconds.toFixed(3)} s`)

  // An instance started now reads the same records: taken down from its first request.
  const c = await instance(t, env)
  assert.equal((await c.server.inject(URL)).statusCode, 451)

  started = performance.now()
  await purge(a, { ...IMAGE, takedown: false })
  const lifted = await until(b, (status) => status === 200, started, 'the lifting on B')
  assert.notEqual(lifted.etag, renewed.etag)
  const onC = await until(c, (status) => status === 200, started, 'the lifting on C')
  assert.equal(onC.etag, lifted.etag)
}

describe('purges reach every instance through the dynamic-configuration source', () => {
  let table: DynamoDbServer
  before(async () => { table = await startDynamoDbServer({ items: { 'purge:acme/news/photos': 'not json', QUALITY_JPEG: '70' } }) })
  after(async () => { await table.close() })

  test('DynamoDB: a purge on instance A is served by instance B after its next poll', async (t) => {
    const env = { DYNAMIC_CONFIG_SOURCE: 'dynamodb', DYNAMIC_CONFIG_TABLE: table.table, DYNAMODB_ENDPOINT: table.endpoint, DYNAMIC_CONFIG_POLL_MS: String(POLL_MS) }
    await propagates(t, env, 'dynamodb')
    const item = await table.client.send(new GetItemCommand({ TableName: table.table, Key: { key: { S: 'purge:acme/news/photos/2026/a.jpg' } } }))
    const record = JSON.parse(String(item.Item?.value?.S)) as Record<string, unknown>
    assert.deepEqual(Object.keys(record).sort(), ['at', 'purgeId', 'takedown', 'who'])
    assert.equal(record.takedown, false)
    assert.equal(record.who, 'admin')
  })

  test('DynamoDB: a malformed record is logged once and ignored; the properties beside it still apply', async (t) => {
    const env = { DYNAMIC_CONFIG_SOURCE: 'dynamodb', DYNAMIC_CONFIG_TABLE: table.table, DYNAMODB_ENDPOINT: table.endpoint, DYNAMIC_CONFIG_POLL_MS: String(POLL_MS) }
    const app = await instance(t, env)
    assert.equal(app.dynamic.get('QUALITY_JPEG'), 70)
    assert.equal(app.logs.filter((line) => line.key === 'purge:acme/news/photos' && line.level === 40).length, 1)
    assert.ok(!app.logs.some((line) => String(line.msg).includes('unknown property')), 'purge records never reach the properties')
    assert.equal((await app.server.inject(`${BUCKET_PATH}/b.jpg?w=32`)).statusCode, 200)
  })

  test('file: a purge on instance A reaches instance B on the file\'s change, and the file keeps its properties', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-dynamic-'))
    t.after(() => { fs.rmSync(dir, { recursive: true, force: true }) })
    const file = path.join(dir, 'dynamic.json')
    fs.writeFileSync(file, JSON.stringify({ QUALITY_JPEG: 71 }))
    await propagates(t, { DYNAMIC_CONFIG_SOURCE: 'file', DYNAMIC_CONFIG_FILE: file }, 'file')
    const document = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
    assert.equal(document.QUALITY_JPEG, 71)
    assert.deepEqual(Object.keys(document).sort(), ['QUALITY_JPEG', 'purge:acme/news/photos/2026/a.jpg'])
    assert.equal((document['purge:acme/news/photos/2026/a.jpg'] as { takedown: boolean }).takedown, false)
    assert.deepEqual(fs.readdirSync(dir), ['dynamic.json'], 'no temporary file is left behind')
  })

  test('file: two instances purging at the same moment keep both records (writers take turns)', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-dynamic-'))
    t.after(() => { fs.rmSync(dir, { recursive: true, force: true }) })
    const file = path.join(dir, 'dynamic.json')
    fs.writeFileSync(file, JSON.stringify({ QUALITY_JPEG: 73 }))
    const env = { DYNAMIC_CONFIG_SOURCE: 'file', DYNAMIC_CONFIG_FILE: file }
    const a = await instance(t, env)
    const b = await instance(t, env)
    const rounds = 10
    for (let round = 0; round < rounds; round++) {
      await Promise.all([
        purge(a, { ...IMAGE, imageId: `a-${round}.jpg` }),
        purge(b, { ...IMAGE, imageId: `b-${round}.jpg` })
      ])
    }
    const document = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
    const records = Object.keys(document).filter((key) => key.startsWith('purge:'))
    assert.equal(records.length, 2 * rounds, `records kept: ${records.length} of ${2 * rounds}`)
    assert.equal(document.QUALITY_JPEG, 73)
    assert.deepEqual(fs.readdirSync(dir), ['dynamic.json'], 'no lock or temporary file is left behind')
  })

  test('a purge that cannot be published is a 503 and purges nothing, here or elsewhere', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-dynamic-'))
    t.after(() => { fs.rmSync(dir, { recursive: true, force: true }) })
    const file = path.join(dir, 'dynamic.json')
    fs.writeFileSync(file, JSON.stringify({ QUALITY_JPEG: 72 }))
    const app = await instance(t, { DYNAMIC_CONFIG_SOURCE: 'file', DYNAMIC_CONFIG_FILE: file })
    const before = await app.server.inject(URL)
    // An operator's half-saved file: the service must not overwrite it.
    fs.writeFileSync(file, '{"QUALITY_JPEG": ')
    const response = await app.admin.inject({ method: 'POST', url: '/admin/purge', headers: { authorization: `Bearer ${TOKEN}` }, payload: IMAGE })
    assert.equal(response.statusCode, 503)
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'PURGE_NOT_PUBLISHED')
    assert.equal(fs.readFileSync(file, 'utf8'), '{"QUALITY_JPEG": ')
    const after = await app.server.inject(URL)
    assert.deepEqual([after.headers['x-cache'], after.headers.etag], ['HIT', before.headers.etag])
  })
})
