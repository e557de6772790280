import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { describe, test, type TestContext } from 'node:test'
import { buildTestApp } from '../helpers/build-app.ts'
import { listenLocally } from '../helpers/raw-http.ts'

/** Without the limits under test these connections would stay open: fail instead of hanging. */
const BOUNDED = { timeout: 5000 }

const sockets = new Set<net.Socket>()

/** Listens; the test's sockets are destroyed first when it ends, so a failure cannot hold the server's close. */
async function listen (t: TestContext, env: Record<string, string>): Promise<number> {
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  })
  const testApp = await buildTestApp(t, { env })
  return await listenLocally(testApp.server)
}

function open (port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1')
  sockets.add(socket)
  return socket
}

/** Opens a connection, lets `start` write to it, and resolves with all the server wrote once the server closes it. */
async function untilClosed (port: number, start: (socket: net.Socket) => void): Promise<string> {
  return await new Promise((resolve) => {
    const socket = open(port)
    let data = ''
    socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
    // A reset is the server closing too.
    socket.on('error', () => {})
    socket.on('close', () => { resolve(data) })
    socket.on('connect', () => { start(socket) })
  })
}

async function connect (port: number): Promise<net.Socket> {
  const socket = open(port)
  await once(socket, 'connect')
  return socket
}

/** Sends GET /healthcheck on a kept-alive connection and resolves with the status line of the answer. */
async function health (socket: net.Socket): Promise<string> {
  return await new Promise((resolve, reject) => {
    let data = ''
    const onClose = (): void => { reject(new Error('the connection closed before an answer')) }
    const onData = (chunk: Buffer): void => {
      data += chunk.toString('latin1')
      const end = data.indexOf('\r\n\r\n')
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data)?.[1] ?? 0)
      if (end === -1 || data.length < end + 4 + length) return
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve(data.slice(0, data.indexOf('\r\n')))
    }
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.write('GET /healthcheck HTTP/1.1\r\nHost: images.example\r\n\r\n')
  })
}

describe('server limits (slow or idle clients are cut off, connections are capped)', () => {
  test('the SERVER_* values reach the node server', async (t) => {
    const defaults = (await buildTestApp(t)).server.server
    assert.equal(defaults.headersTimeout, 10000)
    assert.equal(defaults.requestTimeout, 30000)
    assert.equal(defaults.keepAliveTimeout, 72000)
    assert.equal(defaults.maxConnections, 8192)
    const env = { SERVER_HEADERS_TIMEOUT_MS: '1500', SERVER_REQUEST_TIMEOUT_MS: '2500', SERVER_KEEP_ALIVE_TIMEOUT_MS: '3500', SERVER_MAX_CONNECTIONS: '45' }
    const configured = (await buildTestApp(t, { env })).server.server
    assert.deepEqual(
      [configured.headersTimeout, configured.requestTimeout, configured.keepAliveTimeout, configured.maxConnections],
      [1500, 2500, 3500, 45]
    )
  })

  test('a request line that never ends is cut off by SERVER_HEADERS_TIMEOUT_MS with a 408', BOUNDED, async (t) => {
    // The request timeout is far away: only the headers timeout can close this connection in time.
    const port = await listen(t, { SERVER_HEADERS_TIMEOUT_MS: '200', SERVER_REQUEST_TIMEOUT_MS: '60000' })
    const answer = await untilClosed(port, (socket) => { socket.write('GET /healthcheck HT') })
    assert.match(answer, /^HTTP\/1\.1 408 /)
  })

  test('a body trickling into POST /schema/validate is cut off by SERVER_REQUEST_TIMEOUT_MS with a 408', BOUNDED, async (t) => {
    const port = await listen(t, { SERVER_HEADERS_TIMEOUT_MS: '100', SERVER_REQUEST_TIMEOUT_MS: '400' })
    const answer = await untilClosed(port, (socket) => {
      socket.write('POST /schema/validate HTTP/1.1\r\nHost: images.example\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{')
      // One byte every 20 ms: never idle, never done.
      const trickle = setInterval(() => { socket.write(' ') }, 20)
      socket.on('close', () => { clearInterval(trickle) })
    })
    assert.match(answer, /^HTTP\/1\.1 408 /)
  })

  test('a kept-alive connection left idle is closed after SERVER_KEEP_ALIVE_TIMEOUT_MS', BOUNDED, async (t) => {
    const port = await listen(t, { SERVER_KEEP_ALIVE_TIMEOUT_MS: '100' })
    const socket = await connect(port)
    assert.equal(await health(socket), 'HTTP/1.1 200 OK')
    await once(socket, 'close')
    assert.equal(socket.destroyed, true)
  })

  test('beyond SERVER_MAX_CONNECTIONS a new connection is closed unanswered; the open ones are still served', BOUNDED, async (t) => {
    const port = await listen(t, { SERVER_MAX_CONNECTIONS: '2' })
    const first = await connect(port)
    const second = await connect(port)
    // Answered, so the server counts both before the extra connection arrives.
    assert.equal(await health(first), 'HTTP/1.1 200 OK')
    assert.equal(await health(second), 'HTTP/1.1 200 OK')
    const refused = await untilClosed(port, (socket) => {
      socket.write('GET /healthcheck HTTP/1.1\r\nHost: images.example\r\n\r\n')
    })
    assert.equal(refused, '')
    assert.equal(await health(first), 'HTTP/1.1 200 OK')
    assert.equal(await health(second), 'HTTP/1.1 200 OK')
  })
})
