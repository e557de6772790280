import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { createS3Client } from '../../../src/aws/s3-client.ts'
import { DeliveryError, type ErrorCode } from '../../../src/errors.ts'
import { createFsOrigin } from '../../../src/origins/fs-origin.ts'
import { readSource, type Origin, type OriginRequest, type Source, type SourceVersion } from '../../../src/origins/origin.ts'
import { createS3Origin } from '../../../src/origins/s3-origin.ts'
import { createBreaker } from '../../../src/resilience/breakers.ts'
import { S3RVER_CREDENTIALS, S3RVER_REGION, startS3Server } from '../../../scripts/peers/s3-server.ts'

/**
 * The Origin contract (src/origins/origin.ts), written once and run against every implementation
 * over a real peer: the folder origin over a temporary folder, the S3 origin over s3rver.
 */
interface OriginUnderTest {
  origin: Origin
  /** Stores an original under an origin key (`<tenant>/<domain>/<bucket>/<imageId>`), replacing any. */
  put: (key: string, bytes: Buffer) => Promise<void>
  /** Stores bytes at a raw location of the store, bypassing the key rules (a trap for unchecked keys). */
  plant: (location: string, bytes: Buffer) => Promise<void>
  /** Deletes the original of a key. */
  remove: (key: string) => Promise<void>
  /** Sets an original's modification time back, where the store lets a writer choose it (a folder does). */
  setModificationTime?: (key: string, time: Date) => Promise<void>
  /** Requests the store has been asked so far, where they can be counted (null: not countable). */
  storeRequests: () => number | null
  close: () => Promise<void>
}

interface ContractGaps {
  /** Why `get` with an outdated `expectedVersion` cannot keep the contract (the test is marked todo). */
  outdatedExpectedVersion?: string
  /** Why replacing an original by one of the same size and modification time keeps the version. */
  sameSizeSameMtime?: string
}

const LIMIT: OriginRequest = { maxBytes: 1_000_000 }

/** Distinct, recognisable originals of a given size (the contract does not decode them). */
function original (label: string, size = 64): Buffer {
  const bytes = Buffer.alloc(size, '.')
  bytes.write(label)
  return bytes
}

async function rejectsWith (promise: Promise<unknown>, code: ErrorCode, status: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DeliveryError, String(error))
    assert.equal(error.code, code)
    assert.equal(error.statusCode, status)
    return true
  })
}

/** True when the promise settles before the event loop turns: no file or network answer was waited for. */
async function settlesWithoutIo (promise: Promise<unknown>): Promise<boolean> {
  const state = { settled: false }
  promise.then(() => { state.settled = true }, () => { state.settled = true })
  // Microtasks only: a file system or socket answer needs a turn of the event loop.
  for (let i = 0; i < 20 && !state.settled; i++) await Promise.resolve()
  return state.settled
}

function assertVersion (version: SourceVersion, size: number): void {
  assert.equal(typeof version.tag, 'string')
  assert.ok(version.tag.length > 0)
  assert.ok(version.lastModified instanceof Date && !Number.isNaN(version.lastModified.getTime()))
  assert.equal(version.size, size)
}

function originContract (name: string, start: () => Promise<OriginUnderTest>, gaps: ContractGaps = {}): void {
  describe(`${name} origin: the Origin contract`, () => {
    let store: OriginUnderTest
    let origin: Origin
    before(async () => {
      store = await start()
      origin = store.origin
    })
    after(async () => { await store.close() })

    test('stat gives the size, the modification time and a version tag', async () => {
      const bytes = original('stat', 321)
      const before = Date.now()
      await store.put('acme/d/b/stat.jpg', bytes)
      const version = await origin.stat('acme/d/b/stat.jpg', LIMIT)
      assertVersion(version, 321)
      // Within a few seconds of the upload (S3 Last-Modified has a resolution of one second).
      assert.ok(Math.abs(version.lastModified.getTime() - before) < 5000, version.lastModified.toISOString())
      assert.deepEqual(await origin.stat('acme/d/b/stat.jpg', LIMIT), version, 'stable while the original is unchanged')
    })

    test('get gives the bytes with the version stat gave', async () => {
      const bytes = original('get', 500)
      await store.put('acme/d/b/dir/get.jpg', bytes)
      const version = await origin.stat('acme/d/b/dir/get.jpg', LIMIT)
      const source = await origin.get('acme/d/b/dir/get.jpg', LIMIT)
      assert.deepEqual(await readSource(source), bytes)
      assert.equal(source.size, bytes.length)
      assert.deepEqual(source.version, version)
    })

    test('get with the current expectedVersion gives the bytes under that version', async () => {
      const bytes = original('pinned')
      await store.put('acme/d/b/pinned.jpg', bytes)
      const version = await origin.stat('acme/d/b/pinned.jpg', LIMIT)
      const source = await origin.get('acme/d/b/pinned.jpg', { ...LIMIT, expectedVersion: version })
      assert.deepEqual(await readSource(source), bytes)
      assert.equal(source.version.tag, version.tag)
    })

    test('a missing key is IMAGE_NOT_FOUND (404), on stat and on get', async () => {
      await store.put('acme/d/b/present.jpg', original('present'))
      await rejectsWith(origin.stat('acme/d/b/absent.jpg', LIMIT), 'IMAGE_NOT_FOUND', 404)
      await rejectsWith(origin.get('acme/d/b/absent.jpg', LIMIT), 'IMAGE_NOT_FOUND', 404)
      // A "folder" of the store is no original either.
      await store.put('acme/d/b/folder/inside.jpg', original('inside'))
      await rejectsWith(origin.stat('acme/d/b/folder', LIMIT), 'IMAGE_NOT_FOUND', 404)
      await rejectsWith(origin.get('acme/d/b/folder', LIMIT), 'IMAGE_NOT_FOUND', 404)
    })

    test('an original over maxBytes is SOURCE_TOO_LARGE (413), on stat and on get; exactly maxBytes is fine', async () => {
      await store.put('acme/d/b/large.jpg', original('large', 2048))
      await rejectsWith(origin.stat('acme/d/b/large.jpg', { maxBytes: 2047 }), 'SOURCE_TOO_LARGE', 413)
      await rejectsWith(origin.get('acme/d/b/large.jpg', { maxBytes: 2047 }), 'SOURCE_TOO_LARGE', 413)
      assert.equal((await origin.stat('acme/d/b/large.jpg', { maxBytes: 2048 })).size, 2048)
      assert.equal((await origin.get('acme/d/b/large.jpg', { maxBytes: 2048 })).size, 2048)
    })

    test('replacing an original changes its version tag', async () => {
      await store.put('acme/d/b/replaced.jpg', original('first', 100))
      const first = await origin.stat('acme/d/b/replaced.jpg', LIMIT)
      const replacement = original('second', 120)
      await store.put('acme/d/b/replaced.jpg', replacement)
      const second = await origin.stat('acme/d/b/replaced.jpg', LIMIT)
      assert.notEqual(second.tag, first.tag)
      assert.equal(second.size, 120)
      const source = await origin.get('acme/d/b/replaced.jpg', LIMIT)
      assert.deepEqual(await readSource(source), replacement)
      assert.equal(source.version.tag, second.tag)
    })

    test('replacing an original by one of the same size and modification time changes its version tag', { todo: gaps.sameSizeSameMtime ?? false }, async () => {
      const key = 'acme/d/b/same-size.jpg'
      await store.put(key, original('first', 100))
      const first = await origin.stat(key, LIMIT)
      await store.put(key, original('other', 100))
      // A copy that keeps the modification time (rsync -t, cp -p, tar): only the bytes differ.
      await store.setModificationTime?.(key, first.lastModified)
      const second = await origin.stat(key, LIMIT)
      assert.notEqual(second.tag, first.tag)
    })

    test('get with an outdated expectedVersion never gives the newer bytes under the old version', { todo: gaps.outdatedExpectedVersion ?? false }, async () => {
      const key = 'acme/d/b/raced.jpg'
      const old = original('old', 100)
      await store.put(key, old)
      const oldVersion = await origin.stat(key, LIMIT)
      await store.put(key, original('new', 130))
      let source: Source
      try {
        source = await origin.get(key, { ...LIMIT, expectedVersion: oldVersion })
      } catch (error) {
        // Refusing is keeping the contract (S3 answers If-Match with 412: UPSTREAM_ERROR).
        assert.ok(error instanceof DeliveryError, String(error))
        return
      }
      const bytes = await readSource(source)
      if (source.version.tag === oldVersion.tag) {
        assert.deepEqual(bytes, old, 'bytes delivered under the old version are the old bytes')
        assert.equal(source.size, old.length)
      } else {
        assert.equal(source.size, bytes.length, 'the version returned describes the bytes returned')
      }
    })

    test('get with the version of a since deleted original is IMAGE_NOT_FOUND', { todo: gaps.outdatedExpectedVersion ?? false }, async () => {
      const key = 'acme/d/b/deleted.jpg'
      await store.put(key, original('deleted'))
      const version = await origin.stat(key, LIMIT)
      await store.remove(key)
      await rejectsWith(origin.get(key, { ...LIMIT, expectedVersion: version }), 'IMAGE_NOT_FOUND', 404)
    })

    /** Each bad key, and where an origin that collapsed or trusted it would read (a planted original). */
    const BAD_KEYS: Array<{ key: string, trap?: string }> = [
      // Collapsed, `acme/./../x/y.jpg` is `x/y.jpg`: outside any bucket.
      { key: 'acme/./../x/y.jpg', trap: 'x/y.jpg' },
      // A dot first in a bucket part: `.a` could be a hidden folder.
      { key: 'acme/.a/b/c.jpg', trap: 'acme/.a/b/c.jpg' },
      { key: 'acme/d/b/../../../x/y.jpg', trap: 'x/y.jpg' },
      { key: 'acme/d/b/./c.jpg', trap: 'acme/d/b/c.jpg' },
      { key: 'acme/d/b/sub/../c.jpg', trap: 'acme/d/b/c.jpg' },
      { key: 'acme/d/b' },
      { key: 'acme/d/b/' },
      { key: 'acme/d//c.jpg' }
    ]
    test('keys with dot segments, a leading dot in a bucket part or no image id are IMAGE_NOT_FOUND without reading', async () => {
      for (const { trap } of BAD_KEYS) if (trap !== undefined) await store.plant(trap, original(`trap ${trap}`))
      // Control: a good key does ask the store, so the check below can tell.
      const control = origin.stat('acme/d/b/c.jpg', LIMIT)
      assert.equal(await settlesWithoutIo(control), false)
      await control
      const requests = store.storeRequests()
      for (const { key } of BAD_KEYS) {
        const stat = origin.stat(key, LIMIT)
        const get = origin.get(key, LIMIT)
        assert.ok(await settlesWithoutIo(stat), `stat ${key} answered without asking the store`)
        assert.ok(await settlesWithoutIo(get), `get ${key} answered without asking the store`)
        await rejectsWith(stat, 'IMAGE_NOT_FOUND', 404)
        await rejectsWith(get, 'IMAGE_NOT_FOUND', 404)
      }
      assert.equal(store.storeRequests(), requests, 'no request reached the store')
    })

    test('a key of exactly the bucket prefix and an image id works, dots inside its segments included', async () => {
      for (const key of ['acme/d/b/x.jpg', 'a/b/c/1', 'acme/d/b/v1.2/x..y.jpg', 'ac.me/d_d/b-b/.hidden', 'acme/d/b/...']) {
        const bytes = original(key)
        await store.put(key, bytes)
        const version = await origin.stat(key, LIMIT)
        const source = await origin.get(key, LIMIT)
        assert.deepEqual(await readSource(source), bytes, key)
        assert.equal(source.version.tag, version.tag, key)
      }
    })
  })
}

originContract('folder', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'delivery-images-origin-contract-'))
  const write = async (location: string, bytes: Buffer): Promise<void> => {
    const file = path.join(root, location)
    await fs.mkdir(path.dirname(file), { recursive: true })
    await fs.writeFile(file, bytes)
  }
  return {
    origin: createFsOrigin(root),
    put: write,
    plant: write,
    remove: async (key) => { await fs.rm(path.join(root, key)) },
    setModificationTime: async (key, time) => { await fs.utimes(path.join(root, key), time, time) },
    storeRequests: () => null,
    close: async () => { await fs.rm(root, { recursive: true, force: true }) }
  }
})

const BUCKET = 'originals'
const KEY_PREFIX = 'images/'

originContract('S3', async () => {
  const server = await startS3Server({ buckets: [BUCKET] })
  const client: S3Client = createS3Client({ region: S3RVER_REGION, endpoint: server.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS })
  let requests = 0
  client.middlewareStack.add((next) => async (args) => {
    requests++
    return await next(args)
  }, { step: 'finalizeRequest', name: 'countStoreRequests' })
  const breaker = createBreaker('origin', { timeoutMs: 5000, errorThresholdPercent: 50, maxConcurrent: 100, resetMs: 10000 })
  const upload = async (Key: string, Body: Buffer): Promise<void> => {
    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }))
  }
  return {
    origin: createS3Origin({ client, bucket: BUCKET, keyPrefix: KEY_PREFIX, breaker }),
    put: async (key, bytes) => { await upload(`${KEY_PREFIX}${key}`, bytes) },
    plant: async (location, bytes) => { await upload(`${KEY_PREFIX}${location}`, bytes) },
    remove: async (key) => { await server.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${KEY_PREFIX}${key}` })) },
    // S3 sets Last-Modified itself: no setModificationTime.
    storeRequests: () => requests,
    async close () {
      breaker.circuit.shutdown()
      client.destroy()
      await server.close()
    }
  }
})
