import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Varnish {
  port: number
  baseUrl: string
  /** The instance directory (`-n`), for varnishadm / varnishstat. */
  workdir: string
  /** A counter of `varnishstat`, e.g. `MAIN.n_object` (objects in the cache), `MAIN.backend_req`. */
  counter: (name: string) => Promise<number>
  /** A `varnishadm` command's output (`ban.list`, `param.show ...`). */
  adm: (...args: string[]) => Promise<string>
}

// Debian installs varnishd in /usr/sbin, which is not on a non-root PATH.
const SEARCH_PATH = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin']

function findTool (name: string): string {
  for (const dir of SEARCH_PATH) {
    const candidate = path.join(dir, name)
    if (dir !== '' && fs.existsSync(candidate)) return candidate
  }
  // Not a skip: CI installs Varnish (.ci/run), so a missing one is a broken machine, said plainly.
  throw new Error(`${name} not found: install Debian's varnish 7.x (apt-get install -y varnish; .ci/run does it)`)
}

/**
 * Starts a real `varnishd` in the foreground with `vcl` (its text) on an ephemeral port of
 * 127.0.0.1, waits until it listens, and stops it when the test ends.
 */
export async function startVarnish (t: TestContext, vcl: string): Promise<Varnish> {
  const varnishd = findTool('varnishd')
  const varnishadm = findTool('varnishadm')
  const varnishstat = findTool('varnishstat')
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'varnish-'))
  const vclFile = path.join(workdir, 'test.vcl')
  fs.writeFileSync(vclFile, vcl)

  const child = spawn(varnishd, [
    '-F', '-n', workdir, '-f', vclFile,
    // Port 0: the kernel picks the port, read back below, so no free-port race.
    '-a', '127.0.0.1:0', '-T', '127.0.0.1:0',
    '-s', 'malloc,32m',
    // No privilege separation: as root the default jail would switch to the varnish user, which
    // cannot read the test's temporary directory.
    '-j', 'none',
    // A small thread pool: the tests send a few requests at a time on a shared machine.
    '-p', 'thread_pools=1', '-p', 'thread_pool_min=5', '-p', 'thread_pool_max=50'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  t.after(async () => {
    child.kill('SIGTERM')
    await exited
    fs.rmSync(workdir, { recursive: true, force: true })
  })

  const adm = async (...args: string[]): Promise<string> => (await run(varnishadm, ['-n', workdir, ...args])).stdout
  const counter = async (name: string): Promise<number> => {
    const { stdout } = await run(varnishstat, ['-n', workdir, '-1', '-j', '-f', name])
    const value = (JSON.parse(stdout) as { counters: Record<string, { value: number }> }).counters[name]?.value
    if (value === undefined) throw new Error(`no varnishstat counter ${name}`)
    return value
  }

  // The child is up once the management process answers with the address it listens on
  // ("a0 127.0.0.1 34567"); a VCL that does not compile ends the process instead.
  const deadline = Date.now() + 15000
  let port = 0
  while (port === 0) {
    if (child.exitCode !== null) throw new Error(`varnishd exited with ${child.exitCode}:\n${output}`)
    if (Date.now() > deadline) throw new Error(`varnishd did not start within 15 s:\n${output}`)
    try {
      port = Number(/ (\d+)\s*$/m.exec(await adm('debug.listen_address'))?.[1] ?? 0)
    } catch {
      await new Promise<void>((resolve) => {
        // Retry on the next output of varnishd or after 50 ms, whichever comes first.
        const timer = setTimeout(resolve, 50)
        child.stdout.once('data', () => { clearTimeout(timer); resolve() })
      })
    }
  }
  return { port, baseUrl: `http://127.0.0.1:${port}`, workdir, counter, adm }
}
