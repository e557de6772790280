import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import fs from 'node:fs'
import http, { type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import packageJson from '../../../package.json' with { type: 'json' }
import { activeTracer, applyTracingDefaults, isTracingEnabled, withSpan } from '../../../src/observability/tracer.ts'
import { makeJpeg } from '../../helpers/images.ts'

/** The delivery path's own spans: origin fetch, logic, transformation with `cache.hit`. */

const ROOT = path.resolve(import.meta.dirname, '../../..')
const IMAGES = '/tenants/acme/domains/d/buckets/b/images'

interface Recorded { method: string, url: string, headers: IncomingHttpHeaders, body: Buffer }

/** An HTTP server on 127.0.0.1:0 recording what it receives; runs in the (untraced) test process. */
async function recordingServer (answer: (request: Recorded, response: http.ServerResponse) => void): Promise<{ url: string, seen: Recorded[], close: () => Promise<void> }> {
  const seen: Recorded[] = []
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const recorded = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) }
      seen.push(recorded)
      answer(recorded, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

async function until (condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 10000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The 64 low bits of a 128-bit trace id as msgpack encodes them in the agent payload (uint64). */
function msgpackTraceId (hex128: string): Buffer {
  const bytes = Buffer.alloc(9)
  bytes[0] = 0xcf
  bytes.writeBigUInt64BE(BigInt(`0x${hex128.slice(16)}`), 1)
  return bytes
}

describe('tracing on (DD_TRACE_ENABLED=true), against a fake agent', () => {
  let agent: Awaited<ReturnType<typeof recordingServer>>
  let upstream: Awaited<ReturnType<typeof recordingServer>>
  let child: ChildProcessWithoutNullStreams
  let base: string
  let dir: string
  const logs: Array<Record<string, unknown>> = []

  before(async () => {
    const photo = await makeJpeg(64, 48)
    agent = await recordingServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"rate_by_service":{}}')
    })
    upstream = await recordingServer((request, response) => {
      if (!request.url.endsWith('/photo.jpg')) {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length, etag: '"v1"', 'last-modified': new Date(0).toUTCString() })
      response.end(request.method === 'HEAD' ? undefined : photo)
    })
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-tracing-'))
    fs.writeFileSync(path.join(dir, 'logic.json'), JSON.stringify({ buckets: { 'acme/d/b': { adHoc: 'allow' } } }))

    // A process of its own: dd-trace must load before fastify and pino, and a fake agent inside
    // the traced process would trace its own flushes.
    child = spawn(process.execPath, ['--import', './src/observability/tracer.ts', 'test/integration/observability/fixtures/traced-app.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        DD_TRACE_ENABLED: 'true',
        DD_TRACE_AGENT_URL: agent.url,
        DD_TRACE_FLUSH_INTERVAL: '50',
        DD_TRACE_STARTUP_LOGS: 'false',
        DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
        DD_REMOTE_CONFIGURATION_ENABLED: 'false',
        DD_RUNTIME_METRICS_ENABLED: 'false',
        APP_ENV: 'pre',
        UPSTREAM_URL: upstream.url,
        LOGIC_FILE: path.join(dir, 'logic.json'),
        STATSD_ENABLED: 'false',
        LOG_LEVEL: 'info'
      }
    })
    let buffered = ''
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        logs.push(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>)
        buffered = buffered.slice(end + 1)
      }
    })
    await until(() => logs.some((line) => line.msg === 'listening') || child.exitCode !== null, 'the traced app to listen')
    const listening = logs.find((line) => line.msg === 'listening')
    assert.ok(listening !== undefined, `the traced app did not start: ${stderr}`)
    base = `http://127.0.0.1:${String(listening.port)}`
  })

  after(async () => {
    child.kill('SIGKILL')
    await agent.close()
    await upstream.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  async function get (url: string, headers: Record<string, string>): Promise<{ log: Record<string, unknown>, upstreamGet: Recorded }> {
    const requestId = headers['x-request-id'] ?? ''
    const response = await fetch(`${base}${url}`, { headers })
    assert.equal(response.status, 200)
    await response.arrayBuffer()
    await until(() => logs.some((line) => line.requestId === requestId && line.msg === 'request completed'), 'the access log line')
    const upstreamGet = upstream.seen.find((request) => request.method === 'GET' && request.headers['x-request-id'] === requestId)
    assert.ok(upstreamGet !== undefined)
    const log = logs.find((line) => line.requestId === requestId && line.msg === 'request completed') ?? {}
    return { log, upstreamGet }
  }

  test("a new request's trace id reaches the upstream in every propagation style and the log line", async () => {
    const { log, upstreamGet } = await get(`${IMAGES}/photo.jpg?w=32`, { 'x-request-id': 'trace-fresh' })
    const traceId = (log.dd as { trace_id?: string } | undefined)?.trace_id ?? ''
    assert.match(traceId, /^[0-9a-f]{32}$/)
    assert.equal(log.tenant, 'acme')

    const headers = upstreamGet.headers
    assert.equal(String(headers.traceparent).split('-')[1], traceId, 'W3C tracecontext')
    assert.equal(headers['x-b3-traceid'], traceId, 'B3')
    assert.equal(headers['x-datadog-trace-id'], BigInt(`0x${traceId.slice(16)}`).toString(), 'Datadog (low 64 bits)')
    assert.match(String(headers['x-datadog-tags']), new RegExp(`_dd\\.p\\.tid=${traceId.slice(0, 16)}`), 'Datadog (high 64 bits)')
  })

  test('an incoming W3C traceparent is continued', async () => {
    const traceId = '463ac35c9f6413ad48485a3953bb6124'
    const { log, upstreamGet } = await get(`${IMAGES}/photo.jpg?w=30`, {
      'x-request-id': 'trace-w3c',
      traceparent: `00-${traceId}-0102030405060708-01`
    })
    assert.equal((log.dd as { trace_id?: string }).trace_id, traceId)
    assert.equal(String(upstreamGet.headers.traceparent).split('-')[1], traceId)
  })

  test('an incoming B3 single header is continued', async () => {
    const traceId = '80f198ee56343ba864fe8b2a57d3eff7'
    const { log, upstreamGet } = await get(`${IMAGES}/photo.jpg?w=28`, {
      'x-request-id': 'trace-b3',
      b3: `${traceId}-e457b5a2e4d86bd1-1`
    })
    assert.equal((log.dd as { trace_id?: string }).trace_id, traceId)
    assert.equal(upstreamGet.headers['x-b3-traceid'], traceId)
  })

  /** The agent payload holding the trace, once flushed. */
  async function tracePayload (traceId: string): Promise<Buffer> {
    const payloadOf = (): Buffer | undefined => agent.seen
      .find((request) => request.url === '/v0.4/traces' && request.body.includes(msgpackTraceId(traceId)))?.body
    await until(() => payloadOf() !== undefined, 'the trace at the agent')
    return payloadOf() ?? Buffer.alloc(0)
  }

  // msgpack strings are their UTF-8 bytes after a length prefix: span names and tags are searchable.
  const stringTag = (key: string, value: string): Buffer =>
    Buffer.concat([Buffer.from([0xa0 | key.length]), Buffer.from(key), Buffer.from([0xa0 | value.length]), Buffer.from(value)])

  test('the spans reach the agent: the request span with route, status and tenant, the upstream call', async () => {
    const traceId = '5b8efff798038103d269b633813fc60c'
    await get(`${IMAGES}/photo.jpg?w=26`, { 'x-request-id': 'trace-agent', traceparent: `00-${traceId}-0102030405060708-01` })
    const payload = await tracePayload(traceId)
    const request = agent.seen.find((seen) => seen.body === payload)
    assert.equal(request?.method, 'PUT')
    assert.equal(request?.headers['content-type'], 'application/msgpack')
    assert.ok(payload.includes(traceId.slice(0, 16)), 'high 64 bits of the trace id')
    assert.ok(payload.includes('fastify.request'), 'request span')
    assert.ok(payload.includes(stringTag('tenant', 'acme')), 'tenant tag')
    assert.ok(payload.includes('/tenants/:tenant/domains/:domain/buckets/:bucket/images/*'), 'route')
    assert.ok(payload.includes(stringTag('http.status_code', '200')), 'status')
    assert.ok(payload.includes(`${upstream.url}/acme/d/b/photo.jpg`), 'upstream call span (http.url)')
  })

  test('the delivery path adds child spans: logic, origin fetch, transformation with cache.hit', async () => {
    const traceId = '6c9f0008a9149214e37ac744924ad71d'
    await get(`${IMAGES}/photo.jpg?w=24`, { 'x-request-id': 'trace-spans', traceparent: `00-${traceId}-0102030405060708-01` })
    const payload = await tracePayload(traceId)
    for (const name of ['logic.get', 'origin.fetch', 'image.transformation', 'cache.hit']) assert.ok(payload.includes(name), name)
  })
})

describe('tracing off', () => {
  test('dd-trace is not loaded and withSpan only calls its function', async () => {
    assert.equal(isTracingEnabled(), false)
    assert.equal(activeTracer(), null)
    const loaded = Object.keys(createRequire(import.meta.url).cache)
    assert.equal(loaded.some((file) => file.includes(`${path.sep}dd-trace${path.sep}`)), false)
    assert.equal(await withSpan('x', { a: 1 }, async (span) => { span.setTag('b', 2); return 42 }), 42)
  })

  test('the ops defaults leave explicit dd-trace variables alone', () => {
    const chosen: NodeJS.ProcessEnv = { DD_SERVICE: 'images-eu', DD_TRACE_PROPAGATION_STYLE: 'datadog', APP_ENV: 'pro', DD_LOGS_INJECTION: 'false' }
    applyTracingDefaults(chosen)
    assert.deepEqual(chosen, { DD_SERVICE: 'images-eu', DD_TRACE_PROPAGATION_STYLE: 'datadog', APP_ENV: 'pro', DD_ENV: 'pro', DD_LOGS_INJECTION: 'false', DD_VERSION: packageJson.version })
    const unset: NodeJS.ProcessEnv = {}
    applyTracingDefaults(unset)
    assert.equal(unset.DD_TRACE_PROPAGATION_STYLE_INJECT, 'datadog,tracecontext,b3multi')
    assert.equal(unset.DD_TRACE_PROPAGATION_STYLE_EXTRACT, 'datadog,tracecontext,b3multi,b3 single header')
    assert.equal(unset.DD_LOGS_INJECTION, 'true')
    const versioned: NodeJS.ProcessEnv = { DD_VERSION: '0.1.0-42.gitabc' }
    applyTracingDefaults(versioned)
    assert.equal(versioned.DD_VERSION, '0.1.0-42.gitabc', 'the packaging\'s version wins')
  })
})
