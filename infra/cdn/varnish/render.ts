// Renders default.vcl for a backend address: the one VCL file stays deployable as it is (the
// service on 127.0.0.1:8080), and anything else (another host, the tests' ephemeral port) is this
// substitution of the `service` backend's .host and .port, nothing more.
// Usage: node infra/cdn/varnish/render.ts [--backend host:port] > /etc/varnish/default.vcl
import fs from 'node:fs'
import path from 'node:path'

export const VCL_FILE = path.join(import.meta.dirname, 'default.vcl')

export interface Backend { host: string, port: number }

const BACKEND_BLOCK = /^backend service \{\n([^}]*)\n\}$/m
// What VCL accepts between the quotes of .host: a name or an address, no quote, no space.
const HOST = /^[A-Za-z0-9.:-]+$/

export function renderVcl (source: string, backend: Backend): string {
  if (!HOST.test(backend.host)) throw new Error(`invalid backend host ${JSON.stringify(backend.host)}`)
  if (!Number.isInteger(backend.port) || backend.port < 1 || backend.port > 65535) throw new Error(`invalid backend port ${backend.port}`)
  const block = BACKEND_BLOCK.exec(source)
  if (block?.[1] === undefined) throw new Error('no `backend service { … }` block in the VCL')
  const body = block[1]
    .replace(/^(\s*\.host = ")[^"]*(";)$/m, `$1${backend.host}$2`)
    .replace(/^(\s*\.port = ")[^"]*(";)$/m, `$1${backend.port}$2`)
  return source.replace(BACKEND_BLOCK, `backend service {\n${body}\n}`)
}

export function parseBackend (value: string): Backend {
  const colon = value.lastIndexOf(':')
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(value.slice(colon + 1)) }
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--backend')
  const backend = at === -1 ? { host: '127.0.0.1', port: 8080 } : parseBackend(args[at + 1] ?? '')
  process.stdout.write(renderVcl(fs.readFileSync(VCL_FILE, 'utf8'), backend))
}
