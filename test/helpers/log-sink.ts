import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'

/** A debug-level pino logger whose JSON lines land, parsed, in `logs` (pino's own `sink()` pattern). */
export function createLogSink (): { logger: Logger, logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  return { logger: pino({ level: 'debug' }, sink), logs }
}
