import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A server under test, running as a child process so that its memory is its own. */
export interface ServerProcess {
  name: string
  child: ChildProcess
  port: number
  /** The last few kB the process wrote to stderr, for error messages. */
  stderr: () => string
}

const running = new Set<ChildProcess>()

/** Starts `node <script>` with the running Node, and resolves once `GET /healthcheck` is a 200. */
export async function startServerProcess (name: string, script: string, options: { cwd: string, env: NodeJS.ProcessEnv, port: number }): Promise<ServerProcess> {
  // stdout carries one JSON log line per request: dropped, so that logging costs a write as in
  // production without flooding the terminal.
  const child = spawn(process.execPath, [script], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  child.once('exit', () => { running.delete(child) })
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  const server = { name, child, port: options.port, stderr: () => stderr }
  await waitHealthy(server)
  return server
}

async function waitHealthy (server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      const code = server.child.exitCode ?? server.child.signalCode
      throw new Error(`${server.name} exited before it was healthy (code ${code}): ${server.stderr().trim()}`)
    }
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/healthcheck`, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  throw new Error(`${server.name} did not answer GET /healthcheck with 200 within 30 s: ${server.stderr().trim()}`)
}

export async function stopServerProcess (server: ServerProcess): Promise<void> {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Synchronous, so that it also works from a process 'exit' handler. */
export function killServerProcesses (): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

export async function freePort (): Promise<number> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no TCP port')
  return address.port
}

/** Peak resident set size of a live process, from Linux's high-water mark, or null off Linux. */
export function peakRssMb (pid: number | undefined): number | null {
  if (pid === undefined) return null
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] === undefined ? null : Number(match[1]) / 1024
  } catch {
    return null
  }
}

/** CPU time (user + system, in clock ticks) a live process has used, or null off Linux. */
function cpuTicks (pid: number | undefined): number | null {
  if (pid === undefined) return null
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may itself hold spaces: state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

/**
 * Waits until a process has worked off the requests a previous load run abandoned when it
 * stopped: neither server cancels a transformation when its client goes away, and that backlog
 * would otherwise eat into the next measured window.
 */
export async function waitIdle (pid: number | undefined): Promise<void> {
  const deadline = Date.now() + 60_000
  let previous = cpuTicks(pid)
  let quiet = 0
  while (previous !== null && quiet < 2 && Date.now() < deadline) {
    await sleep(250)
    const current = cpuTicks(pid)
    if (current === null) return
    // A few ticks per 250 ms (at 100 Hz) is timers and GC, not a transformation.
    quiet = current - previous <= 3 ? quiet + 1 : 0
    previous = current
  }
}
