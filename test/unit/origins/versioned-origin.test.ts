import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeliveryError } from '../../../src/errors.ts'
import { originalChanged, type Origin, type SourceVersion } from '../../../src/origins/origin.ts'
import { createVersionedOrigin } from '../../../src/origins/versioned-origin.ts'

const VERSION: SourceVersion = { tag: 'v1', lastModified: new Date(0), size: 10 }
const REQUEST = { maxBytes: 100 }

/** An origin whose answers the test sets (the real origins are in the contract suite). */
function scripted () {
  const behaviour: { stat: () => Promise<SourceVersion>, get: () => Promise<never> } = {
    stat: async () => VERSION,
    get: async () => { throw new DeliveryError('UPSTREAM_ERROR', 'storage failed') }
  }
  const origin: Origin = { stat: async () => await behaviour.stat(), get: async () => await behaviour.get() }
  return { origin, behaviour }
}

test('a storage that fails a read keeps the version for stale-if-error; a replaced original is checked again', async () => {
  let now = 0
  const { origin, behaviour } = scripted()
  const versioned = createVersionedOrigin(origin, { ttlMs: () => 1000, staleIfErrorMs: () => 60_000, now: () => now })
  assert.equal((await versioned.version('t/d/b/x.jpg', REQUEST)).failure, null)
  await assert.rejects(versioned.get('t/d/b/x.jpg', VERSION, REQUEST), /storage failed/)
  now += 2000
  behaviour.stat = async () => { throw new DeliveryError('UPSTREAM_ERROR', 'storage down') }
  const stale = await versioned.version('t/d/b/x.jpg', REQUEST)
  assert.equal(stale.version.tag, 'v1')
  assert.match(stale.failure?.message ?? '', /storage down/)

  behaviour.stat = async () => VERSION
  now += 2000
  await versioned.version('t/d/b/x.jpg', REQUEST)
  behaviour.get = async () => { throw originalChanged() }
  await assert.rejects(versioned.get('t/d/b/x.jpg', VERSION, REQUEST), /changed/)
  behaviour.stat = async () => { throw new DeliveryError('UPSTREAM_ERROR', 'storage down') }
  await assert.rejects(versioned.version('t/d/b/x.jpg', REQUEST), /storage down/, 'nothing of a replaced version is served stale')
})

test('a deleted original is forgotten: never served stale', async () => {
  const { origin, behaviour } = scripted()
  let now = 0
  const versioned = createVersionedOrigin(origin, { ttlMs: () => 0, staleIfErrorMs: () => 60_000, now: () => now })
  await versioned.version('t/d/b/x.jpg', REQUEST)
  now += 1
  behaviour.stat = async () => { throw new DeliveryError('IMAGE_NOT_FOUND') }
  await assert.rejects(versioned.version('t/d/b/x.jpg', REQUEST), /not found/i)
  behaviour.stat = async () => { throw new DeliveryError('UPSTREAM_ERROR', 'storage down') }
  await assert.rejects(versioned.version('t/d/b/x.jpg', REQUEST), /storage down/)
})
