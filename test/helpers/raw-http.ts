import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/**
 * One request over a plain socket with the request target exactly as given. `app.inject` and
 * HTTP clients normalise `.` segments and absolute forms away; an attacker's bytes are not normalised.
 */
export async function rawRequest (port: number, target: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
    socket.on('end', () => { resolve(parse(Buffer.concat(chunks))) })
    socket.on('error', reject)
    const lines = Object.entries({ host: 'images.example', ...headers, connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`)
    socket.write(`GET ${target} HTTP/1.1\r\n${lines.join('')}\r\n`)
  })
}

function parse (data: Buffer): RawAnswer {
  const end = data.indexOf('\r\n\r\n')
  const [statusLine = '', ...headerLines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = data.subarray(end + 4)
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body)
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}

function unchunk (data: Buffer): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset)
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16)
    if (!(size > 0)) return Buffer.concat(parts)
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
}

/** Starts the app on an ephemeral port of 127.0.0.1 and returns the port. */
export async function listenLocally (server: FastifyInstance): Promise<number> {
  await server.listen({ port: 0, host: '127.0.0.1' })
  return (server.server.address() as AddressInfo).port
}

/** A loopback port nothing listens on (bound once, then closed): connections to it are refused. */
export async function closedPort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
