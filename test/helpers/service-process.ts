import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'

const main = path.resolve(import.meta.dirname, '../../src/main.ts')

export interface ServiceProcess {
  child: ChildProcess
  baseUrl: string
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Starts the real service (`node src/main.ts`) on a free loopback port and waits until it listens. */
export async function startService (env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0', STATSD_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: Array<Record<string, unknown>> = []
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('the service did not start')) }, 20000)
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        const match = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(String(entry.msg))
        if (match?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(match[1])
        }
      } catch {}
    })
    void exited.then(({ code }) => { reject(new Error(`the service exited with ${String(code)}`)) })
  })
  return { child, baseUrl, logs, exited }
}
