import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { sign, signedPayload, verifySignature } from '../../../src/delivery/signature.ts'

test('the payload is the path, then every parameter sorted by name, values as sent', () => {
  assert.equal(signedPayload('/a/images/x.jpg', [['w', '100'], ['fm', 'webp'], ['bg', '%23fff']]), '/a/images/x.jpg?bg=%23fff&fm=webp&w=100')
  assert.equal(signedPayload('/a/images/x.jpg', []), '/a/images/x.jpg?')
})

test('a signature is base64url HMAC-SHA256 without padding; any listed key verifies it', () => {
  const payload = '/a/images/x.jpg?w=100'
  const expected = createHmac('sha256', 'old-key-0123456789').update(payload).digest('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  assert.equal(sign('old-key-0123456789', payload), expected)
  assert.equal(verifySignature(['new-key-0123456789', 'old-key-0123456789'], payload, expected), true)
  assert.equal(verifySignature(['new-key-0123456789'], payload, expected), false)
  assert.equal(verifySignature(['old-key-0123456789'], `${payload}0`, expected), false)
  assert.equal(verifySignature(['old-key-0123456789'], payload, undefined), false)
  assert.equal(verifySignature(['old-key-0123456789'], payload, ''), false)
  assert.equal(verifySignature([], payload, expected), false)
})
