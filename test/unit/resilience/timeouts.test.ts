import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { S3ServiceException } from '@aws-sdk/client-s3'
import CircuitBreaker from 'opossum'
import { errors, request } from 'undici'
import { isTimeout } from '../../../src/resilience/timeouts.ts'
import { closedPort } from '../../helpers/raw-http.ts'

/** A peer that takes requests and never answers them; `/head` sends the headers, then stalls. */
let peer: http.Server
let base = ''

before(async () => {
  peer = http.createServer((req, res) => {
    if (req.url === '/head') res.writeHead(200, { 'content-length': '10' }).flushHeaders()
  })
  peer.listen(0, '127.0.0.1')
  await once(peer, 'listening')
  base = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`
})

after(async () => {
  peer.closeAllConnections()
  await new Promise((resolve) => peer.close(resolve))
})

/** What `work` rejects with. */
async function failureOf (work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work()
  } catch (error) {
    return error
  }
  throw new Error('expected a failure')
}

const TIMEOUTS: ReadonlyArray<[string, () => Promise<unknown> | unknown]> = [
  ['opossum\'s own timer', async () => {
    const circuit = new CircuitBreaker(async () => await new Promise(() => {}), { timeout: 20 })
    try {
      return await failureOf(async () => await circuit.fire())
    } finally {
      circuit.shutdown()
    }
  }],
  ['an AbortSignal.timeout() signal, as undici rejects with it', async () =>
    await failureOf(async () => await request(base, { signal: AbortSignal.timeout(20) }))],
  ['an AbortSignal.timeout() signal, as fetch rejects with it', async () =>
    await failureOf(async () => await fetch(base, { signal: AbortSignal.timeout(20) }))],
  ['node\'s AbortError caused by an AbortSignal.timeout() signal', async () =>
    await failureOf(async () => await once(new EventEmitter(), 'never', { signal: AbortSignal.timeout(20) }))],
  ['undici\'s headers timeout', async () => await failureOf(async () => await request(base, { headersTimeout: 20 }))],
  ['undici\'s body timeout', async () => await failureOf(async () => {
    const response = await request(`${base}/head`, { bodyTimeout: 20 })
    await response.body.text()
  })],
  ['undici\'s connect timeout', () => new errors.ConnectTimeoutError()],
  ['node\'s ETIMEDOUT', () => Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:80'), { code: 'ETIMEDOUT', errno: -110, syscall: 'connect' })],
  // As @smithy/node-http-handler raises it with throwOnRequestTimeout.
  ['the AWS SDK\'s request timeout', () => Object.assign(new Error('the request socket timed out'), { name: 'TimeoutError' })],
  ['S3\'s RequestTimeout answer', () => new S3ServiceException({ name: 'RequestTimeout', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Your socket connection to the server was not read from or written to within the timeout period.' })]
]

const NOT_TIMEOUTS: ReadonlyArray<[string, () => Promise<unknown> | unknown]> = [
  ['an abort for another reason, as undici rejects with it', async () => {
    const controller = new AbortController()
    const pending = failureOf(async () => await request(base, { signal: controller.signal }))
    controller.abort()
    return await pending
  }],
  ['node\'s AbortError for another reason', async () => {
    const controller = new AbortController()
    const pending = failureOf(async () => await once(new EventEmitter(), 'never', { signal: controller.signal }))
    controller.abort()
    return await pending
  }],
  ['a refused connection', async () => await failureOf(async () => await request(`http://127.0.0.1:${await closedPort()}`))],
  ['an open circuit', async () => {
    const circuit = new CircuitBreaker(async () => 'ok')
    circuit.open()
    return await failureOf(async () => await circuit.fire())
  }],
  // libvips' message: the transform's own timeout, not an error shape this rule knows.
  ['a message that mentions a timeout', () => new Error('timeout: 42% complete')],
  ['an error code as a bare string', () => 'ETIMEDOUT'],
  ['nothing', () => undefined],
  ['null', () => null]
]

for (const [what, make] of TIMEOUTS) {
  test(`a timeout: ${what}`, async () => {
    const error = await make()
    assert.equal(isTimeout(error), true, String(error))
  })
}

for (const [what, make] of NOT_TIMEOUTS) {
  test(`not a timeout: ${what}`, async () => {
    const error = await make()
    assert.equal(isTimeout(error), false, String(error))
  })
}
