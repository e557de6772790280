import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import sharp from 'sharp'
import {
  bucketPrefix, imageId, openStatsdSink, startS3Origin, TENANT_X, TENANT_Y, writeLogicFile, writeOriginals,
  type Bucket, type S3Origin, type Source, type StatsdSink
} from './fixtures.ts'
import { format, printSection, printTargets, ratio, rowOf, summaryLine, type Row, type Section, type Target } from './report.ts'
import { freePort, killServerProcesses, peakRssMb, startServerProcess, stopServerProcess, waitIdle, type ServerProcess } from './server-process.ts'
import { killWrk, requireWrk, runWrk, type WrkPaths, type WrkResult } from './wrk.ts'

/**
 * `npm run bench`: the service (a child process on its defaults, metrics to a UDP sink, access log
 * on) under wrk, next to yardsticks run the same way: bench/bare-server.ts (node:http + sharp) for
 * uncached work, bench/ceiling-server.ts (bytes from a Map) for cache hits. Then originals in
 * s3rver, abandoned requests, overload and tenant fairness. Every server is a fresh process per
 * workload, so its peak RSS (VmHWM) is that workload's.
 */

const REPO = path.resolve(import.meta.dirname, '..')
const DURATION_S = positiveInt('BENCH_DURATION_S', 10)
const WARMUP_S = 2
/** Ids per sample on disk (hard links): enough that even fast 503s never wrap onto work still queued. */
const FS_IDS = 16384
/** Ids per sample in s3rver (real copies, uploaded at start). */
const S3_IDS = 128
const HIT_IDS = 64
const PROBE_IDS = 512
const REQUEST_TIMEOUT_MS = 30_000

interface Job { label: string, source: Source, query: string }
const JPEG_12MP: Job = { label: '12 MP JPEG → 400 px JPEG q80', source: 'kleiber', query: 'w=400&q=80&fm=jpeg' }
const WEBP_2MP: Job = { label: '2 MP JPEG → 400 px WebP', source: 'raindrops', query: 'w=400&fm=webp' }

type Kind = 'service' | 'bare' | 'ceiling'
type Origin = 'fs' | 's3'

interface Context {
  dir: string
  root: string
  logicFile: string
  statsd: StatsdSink
  s3: S3Origin | null
  /** Rows of finished workloads, by workload name, for the ratios between workloads. */
  rows: Map<string, Row[]>
  sections: Section[]
  targets: Target[]
}

let tempDir: string | null = null

function releaseAll (): void {
  killWrk()
  killServerProcesses()
  if (tempDir !== null) fs.rmSync(tempDir, { recursive: true, force: true })
  tempDir = null
}

process.on('exit', releaseAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers\n`)
    releaseAll()
    process.exit(130)
  })
}

function log (message: string): void {
  process.stderr.write(`  ${message}\n`)
}

async function start (ctx: Context, kind: Kind, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort()
  const common = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env }
  if (kind !== 'service') {
    return await startServerProcess(kind, path.join(REPO, `bench/${kind}-server.ts`), { cwd: REPO, port, env: common })
  }
  return await startServerProcess(kind, path.join(REPO, 'src/main.ts'), {
    cwd: REPO,
    port,
    env: {
      ...common,
      ADMIN_PORT: String(await freePort()),
      STATSD_ENABLED: 'true',
      STATSD_HOST: '127.0.0.1',
      STATSD_PORT: String(ctx.statsd.port),
      LOG_LEVEL: 'info',
      ORIGIN_FS_ROOT: ctx.root,
      LOGIC_FILE: ctx.logicFile,
      // Servers are stopped between workloads; drain and shutdown grace only matter in production.
      SHUTDOWN_DRAIN_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '1000',
      ...env
    }
  })
}

async function withServer<T> (ctx: Context, kind: Kind, env: Record<string, string>, use: (server: ServerProcess) => Promise<T>): Promise<T> {
  log(`${kind}: starting`)
  const server = await start(ctx, kind, env)
  try {
    return await use(server)
  } finally {
    await stopServerProcess(server)
  }
}

function servicePaths (job: Job, bucket: Bucket, count: number): WrkPaths {
  const { tenant, domain, bucket: name } = bucket
  return { prefix: `/tenants/${tenant}/domains/${domain}/buckets/${name}/images/${job.source}-`, suffix: `.jpg?${job.query}`, first: 0, count }
}

function barePaths (job: Job): WrkPaths {
  return { prefix: `/${job.source}-`, suffix: `.jpg?${job.query}`, first: 0, count: FS_IDS }
}

function pathAt (paths: WrkPaths, index: number): string {
  return `${paths.prefix}${paths.first + index}${paths.suffix}`
}

let probes = 0
/** A 2 MP original no load request names, so a timed single request never joins queued work. */
function probePath (query: string, bucket: Bucket = TENANT_X): string {
  const { tenant, domain, bucket: name } = bucket
  return `/tenants/${tenant}/domains/${domain}/buckets/${name}/images/${imageId('probe', probes++ % PROBE_IDS)}?${query}`
}

interface Answer { status: number | null, ms: number, headers: Headers | null, body: Buffer | null, error: string | null }

async function timedGet (port: number, urlPath: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
  const started = performance.now()
  try {
    const response = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(timeoutMs) })
    const body = Buffer.from(await response.arrayBuffer())
    return { status: response.status, ms: performance.now() - started, headers: response.headers, body, error: null }
  } catch (error) {
    const message = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : String(error)
    return { status: null, ms: performance.now() - started, headers: null, body: null, error: message }
  }
}

/** A workload whose first answer is not an image stops with the reason rather than being measured. */
async function expectImage (port: number, urlPath: string): Promise<Answer> {
  const answer = await timedGet(port, urlPath)
  const contentType = answer.headers?.get('content-type') ?? ''
  if (answer.status !== 200 || !contentType.startsWith('image/')) {
    throw new Error(`GET ${urlPath} answered ${answer.status ?? answer.error} ${contentType}: ${answer.body?.toString('utf8').slice(0, 300) ?? ''}`)
  }
  return answer
}

async function load (server: ServerProcess, paths: WrkPaths, connections: number, durationS: number, statuses = false): Promise<WrkResult> {
  return await runWrk({ port: server.port, paths, connections, durationS, statuses, dir: tempDir ?? os.tmpdir() })
}

/** A warm-up run, then each concurrency on a server that has worked off the previous run. */
async function measureRows (server: ServerProcess, label: string, paths: WrkPaths, concurrencies: readonly number[]): Promise<Row[]> {
  const last = concurrencies.at(-1) ?? 1
  log(`${label}: warm-up ${WARMUP_S} s at c=${last}, then ${DURATION_S} s at c=${concurrencies.join(', c=')}`)
  await load(server, paths, last, WARMUP_S)
  const rows: Row[] = []
  for (const connections of concurrencies) {
    await waitIdle(server.child.pid)
    const result = await load(server, paths, connections, DURATION_S)
    rows.push(rowOf(label, connections, result, peakRssMb(server.child.pid)))
  }
  return rows
}

function troubled (...rows: Array<Row | undefined>): string | null {
  return rows.some((row) => row === undefined || row.requests === 0 || row.non2xx + row.errors + row.timeouts > 0)
    ? 'a run answered non-2xx, had errors or completed nothing'
    : null
}

function s3Env (ctx: Context): Record<string, string> {
  if (ctx.s3 === null) throw new Error('s3rver is not running')
  return ctx.s3.env
}

async function uncached (ctx: Context, name: string, job: Job, origin: Origin): Promise<void> {
  const concurrencies = [8, 32]
  const env = { CACHE_MEMORY_MAX_BYTES: '0', ...(origin === 's3' ? s3Env(ctx) : {}) }
  const paths = servicePaths(job, TENANT_X, origin === 's3' ? S3_IDS : FS_IDS)
  const rows = await withServer(ctx, 'service', env, async (server) => {
    await expectImage(server.port, pathAt(paths, 0))
    return await measureRows(server, 'service', paths, concurrencies)
  })
  const notes: string[] = []
  if (origin === 'fs') {
    const bare = await withServer(ctx, 'bare', { BARE_ROOT: path.join(ctx.root, bucketPrefix(TENANT_X)) }, async (server) => {
      await expectImage(server.port, pathAt(barePaths(job), 0))
      return await measureRows(server, 'bare', barePaths(job), concurrencies)
    })
    for (const connections of concurrencies) {
      const service = rows.find((row) => row.connections === connections)
      const base = bare.find((row) => row.connections === connections)
      const throughput = ratio(service?.reqPerSec, base?.reqPerSec)
      const p99 = ratio(service?.p99Ms, base?.p99Ms)
      notes.push(`c=${connections}: service/bare throughput ${format(throughput, 'x')}, p99 ${format(p99, 'x')}`)
      const problem = troubled(service, base)
      ctx.targets.push(
        { name: `${job.label} c=${connections}: throughput >= 1.0x bare`, value: throughput, unit: 'x', atLeast: 1, problem },
        { name: `${job.label} c=${connections}: p99 <= 1.5x bare`, value: p99, unit: 'x', atMost: 1.5, problem })
    }
    rows.push(...bare)
  } else {
    const fsRows = ctx.rows.get(name.replace(/^s3-/, ''))
    for (const connections of concurrencies) {
      const service = rows.find((row) => row.connections === connections)
      const base = fsRows?.find((row) => row.server === 'service' && row.connections === connections)
      const throughput = ratio(service?.reqPerSec, base?.reqPerSec)
      notes.push(`c=${connections}: S3/fs throughput ${format(throughput, 'x')}, p99 ${format(ratio(service?.p99Ms, base?.p99Ms), 'x')}`)
      const problem = fsRows === undefined ? 'the fs workload did not run' : troubled(service, base)
      ctx.targets.push({ name: `S3 ${job.label} c=${connections}: throughput >= 0.9x fs`, value: throughput, unit: 'x', atLeast: 0.9, problem })
    }
  }
  const where = origin === 'fs' ? `${FS_IDS} distinct ids on disk` : `${S3_IDS} distinct ids in s3rver`
  ctx.rows.set(name, rows)
  ctx.sections.push({ name, description: `${job.label}, memory cache off, ${where}: ?${job.query}`, rows, notes })
}

/**
 * `fm=json` next to the image it describes, on one server, memory cache off: the info document
 * decodes the original (shrink-on-load where the format allows) but renders only a 100 px preview.
 */
async function infoDocument (ctx: Context, name: string): Promise<void> {
  const connections = 8
  const image: Job = { label: '12 MP JPEG → 800 px 16:9 JPEG', source: 'kleiber', query: 'w=800&ar=16:9' }
  const info: Job = { label: 'its fm=json', source: 'kleiber', query: 'w=800&ar=16:9&fm=json' }
  const rows = await withServer(ctx, 'service', { CACHE_MEMORY_MAX_BYTES: '0' }, async (server) => {
    await expectImage(server.port, pathAt(servicePaths(image, TENANT_X, FS_IDS), 0))
    const measured: Row[] = []
    for (const job of [image, info]) measured.push(...await measureRows(server, job === image ? 'image' : 'fm=json', servicePaths(job, TENANT_X, FS_IDS), [connections]))
    return measured
  })
  const [imageRow, infoRow] = rows
  const throughput = ratio(infoRow?.reqPerSec, imageRow?.reqPerSec)
  const p99 = ratio(infoRow?.p99Ms, imageRow?.p99Ms)
  ctx.targets.push({ name: `fm=json c=${connections}: throughput >= 1.0x the image's`, value: throughput, unit: 'x', atLeast: 1, problem: troubled(imageRow, infoRow) })
  ctx.rows.set(name, rows)
  ctx.sections.push({
    name,
    description: `${image.label} and its info document, memory cache off, ${FS_IDS} distinct ids on disk, c=${connections}`,
    rows,
    notes: [`fm=json/image throughput ${format(throughput, 'x')}, p99 ${format(p99, 'x')}`]
  })
}

async function cacheHit (ctx: Context, name: string, origin: Origin): Promise<void> {
  const connections = 64
  const paths = servicePaths(WEBP_2MP, TENANT_X, HIT_IDS)
  const answers: Record<string, { contentType: string, base64: string }> = {}
  let notHits = 0
  const rows = await withServer(ctx, 'service', origin === 's3' ? s3Env(ctx) : {}, async (server) => {
    for (let index = 0; index < HIT_IDS; index++) {
      await expectImage(server.port, pathAt(paths, index))
      const hit = await expectImage(server.port, pathAt(paths, index))
      if (hit.headers?.get('x-cache') !== 'HIT') notHits++
      answers[pathAt(paths, index)] = { contentType: hit.headers?.get('content-type') ?? '', base64: hit.body?.toString('base64') ?? '' }
    }
    return await measureRows(server, 'service', paths, [connections])
  })
  const notes = notHits === 0 ? [] : [`!! ${notHits} of ${HIT_IDS} warmed URLs did not answer X-Cache: HIT`]
  const service = rows[0]
  if (origin === 'fs') {
    const file = path.join(ctx.dir, 'ceiling.json')
    fs.writeFileSync(file, JSON.stringify(answers))
    const ceiling = await withServer(ctx, 'ceiling', { CEILING_FILE: file }, async (server) => await measureRows(server, 'ceiling', paths, [connections]))
    const value = ratio(service?.reqPerSec, ceiling[0]?.reqPerSec)
    notes.push(`service/ceiling throughput ${format(value, 'x')}, p99 ${format(ratio(service?.p99Ms, ceiling[0]?.p99Ms), 'x')}`)
    ctx.targets.push({ name: `cache hit c=${connections}: throughput >= 0.4x ceiling`, value, unit: 'x', atLeast: 0.4, problem: troubled(service, ceiling[0]) })
    rows.push(...ceiling)
  } else {
    const base = ctx.rows.get('cache-hit')?.find((row) => row.server === 'service')
    const value = ratio(service?.reqPerSec, base?.reqPerSec)
    notes.push(`S3/fs hit throughput ${format(value, 'x')}, p99 ${format(ratio(service?.p99Ms, base?.p99Ms), 'x')}`)
    const problem = base === undefined ? 'the fs cache-hit workload did not run' : troubled(service, base)
    ctx.targets.push({ name: `S3 cache hit c=${connections}: throughput >= 0.9x fs hit`, value, unit: 'x', atLeast: 0.9, problem })
  }
  ctx.rows.set(name, rows)
  const where = origin === 'fs' ? 'originals on disk' : 'originals in s3rver'
  ctx.sections.push({ name, description: `${HIT_IDS} distinct URLs in the memory cache (${where}), ${WEBP_2MP.label}: ?${WEBP_2MP.query}`, rows, notes })
}

/** A request whose client closes the socket after `afterMs`; resolves with the status if one came first. */
async function abandonedRequest (port: number, urlPath: string, afterMs: number): Promise<number | null> {
  return await new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false })
    const timer = setTimeout(() => { request.destroy(); resolve(null) }, afterMs)
    request.on('response', (response) => {
      clearTimeout(timer)
      request.destroy()
      resolve(response.statusCode ?? null)
    })
    request.on('error', () => { /* the socket this side closed */ })
  })
}

async function abandonment (ctx: Context, name: string): Promise<void> {
  const clients = 60
  const query = 'w=200&fm=jpeg'
  const { unloaded, fresh, answered, rss } = await withServer(ctx, 'service', { CACHE_MEMORY_MAX_BYTES: '0' }, async (server) => {
    await expectImage(server.port, probePath(query))
    const unloaded = await timedGet(server.port, probePath(query))
    const avif = servicePaths({ label: '', source: 'kleiber', query: 'w=3000&fm=avif' }, TENANT_X, clients)
    log(`${name}: ${clients} clients abandon 12 MP → AVIF after 0.3 s, then one fresh request (timeout ${REQUEST_TIMEOUT_MS / 1000} s)`)
    const statuses = await Promise.all(Array.from({ length: clients }, async (_unused, index) => await abandonedRequest(server.port, pathAt(avif, index), 300)))
    const fresh = await timedGet(server.port, probePath(query))
    return { unloaded, fresh, answered: statuses.filter((status) => status !== null), rss: peakRssMb(server.child.pid) }
  })
  const freshText = fresh.status === 200 ? `${fresh.ms.toFixed(0)} ms` : `${fresh.status ?? fresh.error} after ${fresh.ms.toFixed(0)} ms`
  ctx.sections.push({
    name,
    description: `${clients} clients each ask a distinct 12 MP JPEG → ?w=3000&fm=avif (memory cache off) and close the socket after 0.3 s`,
    rows: [],
    notes: [
      `answered within 0.3 s: ${answered.length} (${answered.join(', ') || 'none'})`,
      `fresh 2 MP → 200 px JPEG right after: ${freshText} (unloaded: ${unloaded.ms.toFixed(0)} ms); service peak RSS ${format(rss, 'MB')}`
    ]
  })
  ctx.targets.push({
    name: 'abandonment: fresh request < 1 s',
    value: fresh.ms / 1000,
    unit: 's',
    below: 1,
    problem: fresh.status === 200 ? null : `answered ${fresh.status ?? fresh.error}`
  })
}

/** Seconds from `loadEnd` to the start of the first single request within twice the unloaded latency. */
async function recoverySeconds (port: number, query: string, normalMs: number, loadEnd: number): Promise<number | null> {
  while (performance.now() - loadEnd < 60_000) {
    const started = performance.now()
    const answer = await timedGet(port, probePath(query))
    if (answer.status === 200 && answer.ms <= 2 * normalMs) return (started - loadEnd) / 1000
    await sleep(50)
  }
  return null
}

function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

async function overload (ctx: Context, name: string): Promise<void> {
  const connections = 96
  const paths = servicePaths(WEBP_2MP, TENANT_X, FS_IDS)
  const measured = await withServer(ctx, 'service', { CACHE_MEMORY_MAX_BYTES: '0' }, async (server) => {
    await expectImage(server.port, probePath(WEBP_2MP.query))
    const times: number[] = []
    for (let index = 0; index < 3; index++) times.push((await timedGet(server.port, probePath(WEBP_2MP.query))).ms)
    const unloadedMs = median(times)
    log(`${name}: c=${connections} for ${DURATION_S} s, then single requests until latency is back within 2x ${unloadedMs.toFixed(0)} ms`)
    // A few plain clients in the middle of the load, to see the 503s a client sees.
    const sampled = sleep(DURATION_S * 500).then(async () => await Promise.all(Array.from({ length: 5 }, async () => await timedGet(server.port, probePath(WEBP_2MP.query)))))
    const result = await load(server, paths, connections, DURATION_S, true)
    const loadEnd = performance.now()
    const recovery = await recoverySeconds(server.port, WEBP_2MP.query, unloadedMs, loadEnd)
    return { result, unloadedMs, recovery, sampled: await sampled, rss: peakRssMb(server.child.pid) }
  })
  const { result, unloadedMs, recovery, sampled, rss } = measured
  const statuses = result.statuses ?? {}
  const total = Object.values(statuses).reduce((sum, stats) => sum + stats.count, 0)
  const others = Object.entries(statuses).filter(([code]) => code !== '200' && code !== '503').reduce((sum, [, stats]) => sum + stats.count, 0)
  const byStatus = Object.entries(statuses).map(([code, stats]) =>
    `${code}: ${stats.count} (${(100 * stats.count / Math.max(1, total)).toFixed(1)}%, p50 ${format(stats.p50Ms, 'ms')}, p99 ${format(stats.p99Ms, 'ms')})`)
  const samples = sampled.map((answer) => answer.status === 503 ? `503 Retry-After: ${answer.headers?.get('retry-after') ?? 'MISSING'}` : String(answer.status ?? answer.error))
  ctx.sections.push({
    name,
    description: `${WEBP_2MP.label}, memory cache off, c=${connections} (3x the top concurrency of the uncached runs) for ${DURATION_S} s`,
    rows: [rowOf('service', connections, result, rss)],
    expectsNon2xx: true,
    notes: [
      `statuses: ${byStatus.join('; ') || 'none'}`,
      `503s without Retry-After: ${statuses['503']?.noRetryAfter ?? 0}; sampled with fetch mid-load: ${samples.join(', ')}`,
      `unloaded single request ${unloadedMs.toFixed(0)} ms; back within 2x after ${recovery === null ? 'more than 60 s' : format(recovery, 's')}`
    ]
  })
  ctx.targets.push(
    { name: 'overload: only 200s and 503s (count of anything else)', value: others + result.errors + result.timeouts, unit: '', atMost: 0 },
    { name: 'overload: service peak RSS <= 512 MB', value: rss, unit: 'MB', atMost: 512 },
    { name: 'overload: recovery <= 2 s', value: recovery, unit: 's', atMost: 2, problem: recovery === null ? 'not back to normal within 60 s' : null })
}

async function fairness (ctx: Context, name: string): Promise<void> {
  const rampS = 2
  const flooding = servicePaths(WEBP_2MP, TENANT_X, FS_IDS)
  const light = servicePaths(WEBP_2MP, TENANT_Y, FS_IDS)
  const { alone, flood, underFlood } = await withServer(ctx, 'service', { CACHE_MEMORY_MAX_BYTES: '0' }, async (server) => {
    await expectImage(server.port, pathAt(flooding, 0))
    await expectImage(server.port, pathAt(light, 0))
    log(`${name}: tenant Y c=2 alone, then under tenant X c=24, ${DURATION_S} s each`)
    await load(server, light, 2, WARMUP_S)
    const alone = await load(server, light, 2, DURATION_S, true)
    await waitIdle(server.child.pid)
    // X starts first and ends last, so Y's whole window is under the flood.
    const floodRun = load(server, flooding, 24, DURATION_S + 2 * rampS)
    await sleep(rampS * 1000)
    const underFlood = await load(server, light, 2, DURATION_S, true)
    return { alone, flood: await floodRun, underFlood }
  })
  const value = ratio(underFlood.statuses?.['200']?.p99Ms, alone.statuses?.['200']?.p99Ms)
  const yNon200 = [alone, underFlood].map((run) => Object.entries(run.statuses ?? {}).filter(([code]) => code !== '200').map(([code, stats]) => `${code} x${stats.count}`).join(', '))
  ctx.sections.push({
    name,
    description: `${WEBP_2MP.label}, memory cache off; tenant X floods at c=24, tenant Y (another tenant) sends c=2`,
    rows: [rowOf('Y alone', 2, alone, null), rowOf('X flood', 24, flood, null), rowOf('Y under flood', 2, underFlood, null)],
    notes: [`Y p99 of its 200s under flood / alone: ${format(value, 'x')}`]
  })
  ctx.targets.push({
    name: 'fairness: tenant Y p99 under flood <= 2x unloaded',
    value,
    unit: 'x',
    atMost: 2,
    problem: yNon200.some((text) => text !== '') ? `Y answered non-200: alone [${yNon200[0]}], under flood [${yNon200[1]}]` : null
  })
}

interface Workload { name: string, run: (ctx: Context, name: string) => Promise<void> }

const WORKLOADS: readonly Workload[] = [
  { name: '12mp-jpeg-400-q80-uncached', run: async (ctx, name) => { await uncached(ctx, name, JPEG_12MP, 'fs') } },
  { name: '2mp-jpeg-400-webp-uncached', run: async (ctx, name) => { await uncached(ctx, name, WEBP_2MP, 'fs') } },
  { name: 'cache-hit', run: async (ctx, name) => { await cacheHit(ctx, name, 'fs') } },
  { name: 'info-document', run: infoDocument },
  { name: 's3-12mp-jpeg-400-q80-uncached', run: async (ctx, name) => { await uncached(ctx, name, JPEG_12MP, 's3') } },
  { name: 's3-2mp-jpeg-400-webp-uncached', run: async (ctx, name) => { await uncached(ctx, name, WEBP_2MP, 's3') } },
  { name: 's3-cache-hit', run: async (ctx, name) => { await cacheHit(ctx, name, 's3') } },
  { name: 'abandonment', run: abandonment },
  { name: 'overload', run: overload },
  { name: 'fairness', run: fairness }
]

function selectedWorkloads (): readonly Workload[] {
  // BENCH_ONLY=cache-hit,overload (comma-separated names) runs a subset, e.g. while tuning one path.
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter((name) => name !== '')
  if (only === undefined || only.length === 0) return WORKLOADS
  const unknown = only.filter((name) => !WORKLOADS.some((workload) => workload.name === name))
  if (unknown.length > 0) {
    process.stderr.write(`BENCH_ONLY: unknown ${unknown.join(', ')}; workloads: ${WORKLOADS.map((workload) => workload.name).join(', ')}\n`)
    process.exit(2)
  }
  return WORKLOADS.filter((workload) => only.includes(workload.name))
}

async function main (): Promise<void> {
  requireWrk()
  const workloads = selectedWorkloads()
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-bench-'))
  const root = path.join(tempDir, 'originals')
  writeOriginals(root, FS_IDS, PROBE_IDS)
  const logicFile = path.join(tempDir, 'logic.json')
  writeLogicFile(logicFile)
  const ctx: Context = { dir: tempDir, root, logicFile, statsd: await openStatsdSink(), s3: null, rows: new Map(), sections: [], targets: [] }

  const wrkVersion = spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0]?.split(' [')[0] ?? 'wrk'
  console.log('# delivery-images benchmark')
  console.log(`node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ${wrkVersion}, ${os.availableParallelism()} CPUs`)
  console.log(`wrk: 1 thread, ${WARMUP_S} s warm-up then ${DURATION_S} s measured (BENCH_DURATION_S) per server and concurrency; each request a distinct image id`)
  console.log('service: child process on its defaults, metrics to a UDP sink, access log (info) to /dev/null; peak RSS = VmHWM of a fresh process per workload')
  // Other processes on the machine skew every number; the load average shows whether there were any.
  console.log(`load average (1 min) at start: ${loadAverage()}`)

  try {
    for (const workload of workloads) {
      process.stderr.write(`${workload.name}\n`)
      if (workload.name.startsWith('s3-') && ctx.s3 === null) {
        log(`s3rver: uploading ${2 * S3_IDS} originals`)
        ctx.s3 = await startS3Origin(path.join(tempDir, 's3'), S3_IDS)
      }
      const sections = ctx.sections.length
      const before = loadAverage()
      try {
        await workload.run(ctx, workload.name)
      } catch (error) {
        const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 600)
        ctx.sections.push({ name: workload.name, description: 'FAILED', rows: [], notes: [`!! ${message}`] })
        ctx.targets.push({ name: `${workload.name} ran to completion`, value: null, unit: '', problem: 'failed, see its section' })
      }
      for (const section of ctx.sections.slice(sections)) {
        // Anything else running on the machine skews the numbers; this shows when it did.
        section.notes.push(`load average (1 min) before: ${before}, after: ${loadAverage()}`)
        printSection(section)
      }
    }
  } finally {
    await ctx.s3?.close()
    ctx.statsd.close()
  }

  console.log(`\nload average (1 min) at end: ${loadAverage()}; StatsD datagrams received: ${ctx.statsd.datagrams()}`)
  printTargets(ctx.targets)
  const meta = { node: process.version, cpus: os.availableParallelism(), warmupSeconds: WARMUP_S, durationSeconds: DURATION_S }
  console.log(`\n${summaryLine(meta, ctx.sections, ctx.targets)}`)
}

function loadAverage (): string {
  return (os.loadavg()[0] ?? 0).toFixed(2)
}

function positiveInt (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name} must be a positive integer of seconds, got '${raw}'\n`)
    process.exit(2)
  }
  return value
}

try {
  await main()
} finally {
  releaseAll()
}
