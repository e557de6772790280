import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'

const main = path.resolve(import.meta.dirname, '../../src/main.ts')

export interface ServiceProcess {
  child: ChildProcess
  baseUrl: string
  /** The admin port's base URL. */
  adminUrl: Promise<string>
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>
  /** Resolves with the first log line (so far or to come) that matches. */
  waitForLog: (matches: (line: Record<string, unknown>) => boolean, what: string) => Promise<Record<string, unknown>>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Starts the real service (`node src/main.ts`) on a free loopback port and waits until it listens. */
export async function startService (env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0', STATSD_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: Array<Record<string, unknown>> = []
  const waiters = new Set<{ matches: (line: Record<string, unknown>) => boolean, resolve: (line: Record<string, unknown>) => void }>()
  const waitForLog = async (matches: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> => {
    const seen = logs.find(matches)
    if (seen !== undefined) return seen
    return await new Promise((resolve, reject) => {
      const waiter = { matches, resolve }
      waiters.add(waiter)
      void exited.then(() => {
        if (waiters.delete(waiter)) reject(new Error(`the service exited before logging ${what}`))
      })
    })
  }
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('the service did not start')) }, 20000)
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        for (const waiter of waiters) {
          if (!waiter.matches(entry)) continue
          waiters.delete(waiter)
          waiter.resolve(entry)
        }
        const match = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(String(entry.msg))
        if (match?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(match[1])
        }
      } catch {}
    })
    void exited.then(({ code }) => { reject(new Error(`the service exited with ${String(code)}`)) })
  })
  // The public listener logs first, the admin one second.
  const adminUrl = waitForLog((line) => /listening at http:/.test(String(line.msg)) && !String(line.msg).includes(baseUrl), 'the admin listener')
    .then((line) => /listening at (http:\/\/[^\s]+)/.exec(String(line.msg))?.[1] ?? '')
  return { child, baseUrl, adminUrl, logs, waitForLog, exited }
}
