import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { createFileLogic, LogicFileError } from '../../../src/logic/file-logic.ts'

function writeLogic (document: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-logic-'))
  const file = path.join(dir, 'logic.json')
  fs.writeFileSync(file, typeof document === 'string' ? document : JSON.stringify(document))
  return file
}

const context = { requestId: 'test' }

test('the most specific bucket key wins; * matches any one part', async () => {
  const logic = createFileLogic(writeLogic({
    buckets: {
      '*/*/*': { cacheControl: 'any' },
      'acme/*/*': { cacheControl: 'tenant' },
      'acme/news/*': { cacheControl: 'domain' },
      '*/*/photos': { cacheControl: 'bucket' },
      'acme/news/photos': { cacheControl: 'exact' }
    }
  }))
  const cacheControlOf = async (tenant: string, domain: string, bucket: string) =>
    (await logic.getBucketLogic({ tenant, domain, bucket }, context))?.cacheControl
  assert.equal(await cacheControlOf('acme', 'news', 'photos'), 'exact')
  assert.equal(await cacheControlOf('acme', 'news', 'video'), 'domain')
  assert.equal(await cacheControlOf('acme', 'blog', 'photos'), 'tenant')
  assert.equal(await cacheControlOf('other', 'blog', 'photos'), 'bucket')
  assert.equal(await cacheControlOf('other', 'blog', 'video'), 'any')
})

test('unknown buckets and aliases are null', async () => {
  const logic = createFileLogic(writeLogic({ buckets: { 'a/b/c': {} }, aliases: { x: { tenant: 'a', domain: 'b', bucket: 'c' } } }))
  assert.equal(await logic.getBucketLogic({ tenant: 'a', domain: 'b', bucket: 'd' }, context), null)
  assert.deepEqual(await logic.resolveAlias('x', context), { tenant: 'a', domain: 'b', bucket: 'c' })
  assert.equal(await logic.resolveAlias('toString', context), null)
  assert.equal(await logic.resolveAlias('y', context), null)
})

test('a broken logic file stops the start with a message naming the bad path', () => {
  assert.throws(() => createFileLogic(writeLogic('{not json')), LogicFileError)
  assert.throws(() => createFileLogic(writeLogic({ buckets: { 'a/b/c': { rules: { big: { width: 0 } } } } })),
    (error: unknown) => error instanceof LogicFileError && error.message.includes('/buckets/a~1b~1c/rules/big/width'))
  assert.throws(() => createFileLogic(writeLogic({ buckets: { 'a/b/c': { defaultRule: 'missing' } } })), /defaultRule/)
  assert.throws(() => createFileLogic(writeLogic({ buckets: { 'bad key': {} } })), /buckets/)
})
