import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'

/** One DogStatsD line, parsed: `name:value|type|@rate|#k:v,k:v`. */
export interface StatsdPacket {
  raw: string
  name: string
  value: number
  type: string
  tags: Record<string, string>
}

export interface FakeStatsd {
  port: number
  /** Every metric line received, datagrams split into their lines. */
  packets: StatsdPacket[]
  /** Every UDP datagram received, unsplit, in arrival order: what buffering is measured by. */
  datagrams: string[]
  /** Packets with this name (prefix included), in arrival order. */
  named: (name: string) => StatsdPacket[]
  /** Resolves once `predicate` holds over the packets received so far. */
  waitFor: (predicate: (packets: StatsdPacket[]) => boolean, description?: string) => Promise<void>
  clear: () => void
  close: () => Promise<void>
}

/** A DogStatsD agent stand-in: a real UDP socket on 127.0.0.1 recording every line it gets. */
export async function startFakeStatsd (): Promise<FakeStatsd> {
  const socket = dgram.createSocket('udp4')
  const packets: StatsdPacket[] = []
  const datagrams: string[] = []
  const waiters = new Set<() => void>()
  socket.on('message', (message) => {
    datagrams.push(message.toString())
    // A buffered client joins several metrics in one datagram, one per line.
    for (const line of message.toString().split('\n')) if (line !== '') packets.push(parseLine(line))
    for (const check of waiters) check()
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))

  return {
    port: (socket.address() as AddressInfo).port,
    packets,
    datagrams,
    named: (name) => packets.filter((packet) => packet.name === name),
    async waitFor (predicate, description = 'statsd packets') {
      if (predicate(packets)) return
      await new Promise<void>((resolve, reject) => {
        // A generous bound so a missing metric fails the test instead of hanging it.
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out waiting for ${description}; got:\n${packets.map((p) => p.raw).join('\n')}`))
        }, 5000)
        function check (): void {
          if (!predicate(packets)) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
      })
    },
    clear: () => {
      packets.length = 0
      datagrams.length = 0
    },
    close: async () => { await new Promise<void>((resolve) => socket.close(() => resolve())) }
  }
}

export function parseLine (raw: string): StatsdPacket {
  const [metric = '', type = '', ...rest] = raw.split('|')
  const separator = metric.lastIndexOf(':')
  const tags: Record<string, string> = {}
  for (const field of rest) {
    if (!field.startsWith('#')) continue
    for (const tag of field.slice(1).split(',')) {
      const colon = tag.indexOf(':')
      if (colon === -1) tags[tag] = ''
      else tags[tag.slice(0, colon)] = tag.slice(colon + 1)
    }
  }
  return { raw, name: metric.slice(0, separator), value: Number(metric.slice(separator + 1)), type, tags }
}
