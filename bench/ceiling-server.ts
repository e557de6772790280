import fs from 'node:fs'
import http from 'node:http'

/**
 * The ceiling of `npm run bench`: the least a server can do for a cache hit, `node:http` answering
 * bytes from a Map. `CEILING_FILE` is JSON `{ "<path?query>": { contentType, base64 } }`, written by
 * the bench from the service's own cache-hit answers. If the service comes close to this, the load
 * generator is not what limits it.
 */

interface Entry { contentType: string, base64: string }

const entries = JSON.parse(fs.readFileSync(process.env.CEILING_FILE ?? '', 'utf8')) as Record<string, Entry>
const answers = new Map(Object.entries(entries).map(([url, entry]) => [url, { contentType: entry.contentType, bytes: Buffer.from(entry.base64, 'base64') }]))

const server = http.createServer((request, response) => {
  const answer = answers.get(request.url ?? '')
  if (answer !== undefined) {
    response.writeHead(200, { 'content-type': answer.contentType, 'content-length': answer.bytes.length }).end(answer.bytes)
  } else if (request.url === '/healthcheck') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP"}')
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
  }
})

server.listen(Number(process.env.PORT ?? '0'), process.env.HOST ?? '127.0.0.1')
process.on('SIGTERM', () => { server.close(() => { process.exit(0) }) })
