import http from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BucketLogic, BucketRef, LogicProvider } from '../../src/logic/bucket-logic.ts'
import { bucketKey } from '../../src/logic/bucket-logic.ts'

/**
 * The logic manager and the translator (`LOGIC_SOURCE=remote`) in one HTTP server, backed
 * by any LogicProvider (a fixed map, or the file logic of `config/local-logic.json`). Each kind of
 * answer can be told to be slow, to fail or to return garbage, from a test or over HTTP with
 * `PUT /_fixture/behaviour {"kind":"logic","mode":"slow","delayMs":500}`.
 */

export type AnswerKind = 'logic' | 'watermark' | 'alias'
export type FixtureMode = 'ok' | 'slow' | 'fail' | 'garbage'

export interface Behaviour {
  mode: FixtureMode
  /** Delay before answering in `slow` mode. */
  delayMs?: number
  /** Status of a `fail` answer (500 by default). */
  status?: number
}

export interface FixtureRequest {
  kind: AnswerKind | null
  path: string
  headers: IncomingHttpHeaders
}

export interface FakeLogicManager {
  url: string
  port: number
  requests: FixtureRequest[]
  /** Requests answered for one kind (or all). */
  calls: (kind?: AnswerKind) => number
  set: (kind: AnswerKind | 'all', behaviour: Behaviour) => void
  close: () => Promise<void>
}

export interface FakeLogicManagerOptions {
  backend: LogicProvider
  port?: number
  host?: string
}

const ROUTES: ReadonlyArray<[RegExp, AnswerKind]> = [
  [/^\/v1\/tenants\/([^/]+)\/domains\/([^/]+)\/buckets\/([^/]+)\/logic$/, 'logic'],
  [/^\/v1\/tenants\/([^/]+)\/domains\/([^/]+)\/buckets\/([^/]+)\/watermark$/, 'watermark'],
  [/^\/v1\/aliases\/([^/]+)$/, 'alias']
]

const GARBAGE: Record<AnswerKind, { type: string, body: string }> = {
  logic: { type: 'application/json', body: '{"rules":{"thumb":{"width":"wide"}},"adHoc":"sometimes"}' },
  watermark: { type: 'image/png', body: 'GIF89a this is not a PNG' },
  alias: { type: 'application/json', body: '{"tenant":"../../etc","domain":42}' }
}

export async function startFakeLogicManager (options: FakeLogicManagerOptions): Promise<FakeLogicManager> {
  const behaviours: Record<AnswerKind, Behaviour> = { logic: { mode: 'ok' }, watermark: { mode: 'ok' }, alias: { mode: 'ok' } }
  const requests: FixtureRequest[] = []
  const context = { requestId: 'fixture' }

  async function answer (kind: AnswerKind, parts: string[]): Promise<{ status: number, type?: string, body?: Buffer | string }> {
    const behaviour = behaviours[kind]
    if (behaviour.mode === 'fail') return { status: behaviour.status ?? 500, type: 'text/plain', body: 'failing on purpose' }
    if (behaviour.mode === 'garbage') return { status: 200, ...GARBAGE[kind] }
    const [first = '', second = '', third = ''] = parts.map(decodeURIComponent)
    const bucket: BucketRef = { tenant: first, domain: second, bucket: third }
    if (kind === 'alias') {
      const target = await options.backend.resolveAlias(first, context)
      return target === null ? { status: 404 } : { status: 200, type: 'application/json', body: JSON.stringify(target) }
    }
    if (kind === 'logic') {
      const logic = await options.backend.getBucketLogic(bucket, context)
      return logic === null ? { status: 404 } : { status: 200, type: 'application/json', body: JSON.stringify(logic) }
    }
    const png = await options.backend.getWatermark(bucket, context)
    return png === null ? { status: 404 } : { status: 200, type: 'image/png', body: png }
  }

  async function control (req: http.IncomingMessage): Promise<number> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const { kind = 'all', ...behaviour } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Behaviour & { kind?: AnswerKind | 'all' }
    set(kind, behaviour)
    return 204
  }

  function set (kind: AnswerKind | 'all', behaviour: Behaviour): void {
    for (const key of kind === 'all' ? (['logic', 'watermark', 'alias'] as const) : [kind]) behaviours[key] = { ...behaviour }
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fixture').pathname
    if (req.method === 'PUT' && path === '/_fixture/behaviour') {
      control(req).then((status) => res.writeHead(status).end(), () => res.writeHead(400).end())
      return
    }
    const route = ROUTES.map(([pattern, kind]) => ({ match: pattern.exec(path), kind })).find((r) => r.match !== null)
    requests.push({ kind: route?.kind ?? null, path, headers: req.headers })
    if (route === undefined || req.method !== 'GET') {
      res.writeHead(404).end()
      return
    }
    const delay = behaviours[route.kind].mode === 'slow' ? behaviours[route.kind].delayMs ?? 1000 : 0
    const timer = setTimeout(() => {
      answer(route.kind, route.match?.slice(1) ?? []).then((result) => {
        if (res.destroyed) return
        res.writeHead(result.status, result.type === undefined ? {} : { 'content-type': result.type }).end(result.body)
      }, () => { res.writeHead(500).end() })
    }, delay)
    // A caller that gave up must not keep the fixture busy.
    res.on('close', () => { clearTimeout(timer) })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve))
  const { port, address } = server.address() as AddressInfo

  return {
    url: `http://${address}:${port}`,
    port,
    requests,
    calls: (kind) => requests.filter((request) => kind === undefined ? request.kind !== null : request.kind === kind).length,
    set,
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

export interface StaticLogic {
  buckets?: Record<string, BucketLogic>
  aliases?: Record<string, BucketRef>
  watermarks?: Record<string, Buffer>
}

/** A backend from plain maps keyed `<tenant>/<domain>/<bucket>`. */
export function staticLogic (data: StaticLogic): LogicProvider {
  return {
    getBucketLogic: async (bucket) => data.buckets?.[bucketKey(bucket)] ?? null,
    resolveAlias: async (alias) => data.aliases?.[alias] ?? null,
    getWatermark: async (bucket) => data.watermarks?.[bucketKey(bucket)] ?? null,
    isKnownTenant: (tenant) => Object.keys(data.buckets ?? {}).some((key) => key.startsWith(`${tenant}/`))
  }
}
