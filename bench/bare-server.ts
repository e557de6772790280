import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import sharp from 'sharp'

/**
 * The baseline of `npm run bench`: the least code that does the service's work with the same
 * library. `GET /<id>?w=&q=&fm=jpeg|webp` reads `<BARE_ROOT>/<id>` and resizes it with sharp's
 * defaults, for the uncached workloads (cache hits are compared with bench/ceiling-server.ts). No
 * validation beyond what keeps the process alive: it is a yardstick, not a server to expose.
 */

const root = path.resolve(process.env.BARE_ROOT ?? '.')

interface Output { bytes: Buffer, contentType: string }

async function render (url: URL): Promise<Output> {
  const file = path.resolve(root, decodeURIComponent(url.pathname.slice(1)))
  if (!file.startsWith(root + path.sep)) throw new Error('outside root')
  const width = Number(url.searchParams.get('w') ?? '400')
  const quality = Number(url.searchParams.get('q') ?? '80')
  const image = sharp(await fs.readFile(file)).autoOrient().resize({ width, withoutEnlargement: true })
  if (url.searchParams.get('fm') === 'webp') return { bytes: await image.webp({ quality }).toBuffer(), contentType: 'image/webp' }
  return { bytes: await image.jpeg({ quality, progressive: true }).toBuffer(), contentType: 'image/jpeg' }
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://bare')
  if (url.pathname === '/healthcheck') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP"}')
    return
  }
  render(url).then((output) => {
    response.writeHead(200, { 'content-type': output.contentType, 'content-length': output.bytes.length }).end(output.bytes)
  }, (error: unknown) => {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT'
    response.writeHead(missing ? 404 : 500, { 'content-type': 'text/plain' }).end(String(error))
  })
})

server.listen(Number(process.env.PORT ?? '0'), process.env.HOST ?? '127.0.0.1')
process.on('SIGTERM', () => { server.close(() => { process.exit(0) }) })
