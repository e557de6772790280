import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cacheKey, passthroughKey, type CacheKeyInput } from '../../../src/delivery/cache-key.ts'

const BASE: CacheKeyInput = {
  originKey: 'acme/news/photos/a.jpg',
  version: { tag: '"v1"', size: 10, lastModified: new Date(0) },
  transformation: { width: 100 },
  accepts: null,
  quality: { jpeg: 80, webp: 80, avif: 60 },
  settings: ['s'],
  watermark: null,
  info: false,
  generation: ''
}

test('a key is a URL-safe token that everything the output depends on changes', () => {
  const key = cacheKey(BASE)
  assert.match(key, /^[A-Za-z0-9_-]{32}$/)
  const variants: Array<Partial<CacheKeyInput>> = [
    { originKey: 'acme/news/photos/b.jpg' },
    { version: { ...BASE.version, tag: '"v2"' } },
    { transformation: { width: 101 } },
    { accepts: 'webp' },
    { settings: ['t'] },
    { watermark: ['id', {}] },
    { info: true },
    { generation: 'purge-1' }
  ]
  const keys = variants.map((variant) => cacheKey({ ...BASE, ...variant }))
  assert.equal(new Set([key, ...keys]).size, variants.length + 1)
})

test('equivalent transformations share a key: dpr folded into the box, a default quality dropped', () => {
  assert.equal(cacheKey({ ...BASE, transformation: { width: 50, dpr: 2 } }), cacheKey(BASE))
  assert.equal(cacheKey({ ...BASE, transformation: { width: 100, format: 'jpeg', quality: 80 } }), cacheKey({ ...BASE, transformation: { width: 100, format: 'jpeg' } }))
})

test('the passthrough key follows the version and the purge generation only', () => {
  const key = passthroughKey(BASE.originKey, BASE.version, '')
  assert.notEqual(passthroughKey(BASE.originKey, { ...BASE.version, tag: '"v2"' }, ''), key)
  assert.notEqual(passthroughKey(BASE.originKey, BASE.version, 'purge-1'), key)
  assert.equal(passthroughKey(BASE.originKey, BASE.version, ''), key)
})
