import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon, { type Request, type Result } from 'autocannon'
import sharp from 'sharp'
import {
  checkTargets, compare, emptyRow, printTargets, printWorkload, summaryLine,
  type Row, type ServerKind, type Source, type Workload, type WorkloadResult
} from './report.ts'
import {
  freePort, killServerProcesses, peakRssMb, startServerProcess, stopServerProcess, waitIdle,
  type ServerProcess
} from './server-process.ts'

/**
 * `npm run bench`: the service against a bare node:http + sharp server doing the same work, in
 * one run, on the same machine and with the same load. Each server is a child process, started
 * fresh for every workload so that its peak RSS (VmHWM) belongs to that workload alone.
 */

const REPO = path.resolve(import.meta.dirname, '..')
const SAMPLES = path.join(REPO, 'data/originals/demo/news/photos')
const DURATION_S = positiveInt('BENCH_DURATION_S', 10)
const WARMUP_S = 2
const CONNECTIONS = 32
/** Distinct copies of each original, so that requests in flight together are never identical. */
const IDS = 64
const BUCKET = { tenant: 'bench', domain: 'site', bucket: 'images' }

const WORKLOADS: readonly Workload[] = [
  { name: '12mp-jpeg-400-q80-uncached', source: 'kleiber', query: 'w=400&q=80&fm=jpeg', cached: false },
  { name: '2mp-jpeg-400-webp-uncached', source: 'raindrops', query: 'w=400&fm=webp', cached: false },
  { name: 'cache-hit', source: 'raindrops', query: 'w=400&fm=webp', cached: true }
]

interface Files { root: string, logicFile: string }

let tempDir: string | null = null

function releaseAll (): void {
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

function bucketDir (root: string): string {
  return path.join(root, BUCKET.tenant, BUCKET.domain, BUCKET.bucket)
}

function imageId (source: Source, index: number): string {
  return `${source}-${String(index).padStart(2, '0')}.jpg`
}

function prepareFiles (dir: string): Files {
  const root = path.join(dir, 'originals')
  fs.mkdirSync(bucketDir(root), { recursive: true })
  for (const source of ['kleiber', 'raindrops'] as const) {
    for (let index = 0; index < IDS; index++) {
      fs.copyFileSync(path.join(SAMPLES, `${source}.jpg`), path.join(bucketDir(root), imageId(source, index)))
    }
  }
  const logicFile = path.join(dir, 'logic.json')
  const key = `${BUCKET.tenant}/${BUCKET.domain}/${BUCKET.bucket}`
  fs.writeFileSync(logicFile, JSON.stringify({ buckets: { [key]: { adHoc: 'allow' } } }))
  return { root, logicFile }
}

function urlPath (kind: ServerKind, workload: Workload, index: number): string {
  const id = imageId(workload.source, workload.cached ? 0 : index)
  return kind === 'service'
    ? `/tenants/${BUCKET.tenant}/domains/${BUCKET.domain}/buckets/${BUCKET.bucket}/images/${id}?${workload.query}`
    : `/${id}?${workload.query}`
}

async function startServer (kind: ServerKind, workload: Workload, files: Files): Promise<ServerProcess> {
  const port = await freePort()
  if (kind === 'bare') {
    return await startServerProcess(kind, path.join(REPO, 'bench/bare-server.ts'), {
      cwd: REPO,
      port,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', BARE_ROOT: bucketDir(files.root), BARE_MEMO: workload.cached ? '1' : '0' }
    })
  }
  return await startServerProcess(kind, path.join(REPO, 'src/main.ts'), {
    cwd: REPO,
    port,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_PORT: String(await freePort()),
      STATSD_ENABLED: 'false',
      LOG_LEVEL: 'info',
      ORIGIN_FS_ROOT: files.root,
      LOGIC_FILE: files.logicFile,
      // Servers are stopped between workloads; the drain only matters behind a load balancer.
      SHUTDOWN_DRAIN_MS: '0',
      ...(workload.cached ? {} : { CACHE_MEMORY_MAX_BYTES: '0' })
    }
  })
}

/**
 * Each request takes the next id of a counter shared by all connections, skipping ids still in
 * flight: the service collapses identical concurrent requests into one transformation, which the
 * bare server does not, and that would flatter the service.
 */
async function load (port: number, pathOf: (index: number) => string, durationS: number): Promise<Result> {
  let counter = 0
  const inFlight = new Uint16Array(IDS)
  const request: Request = {
    method: 'GET',
    setupRequest (params, context) {
      let index = counter++ % IDS
      for (let tries = 1; tries < IDS && (inFlight[index] ?? 0) > 0; tries++) index = counter++ % IDS
      inFlight[index] = (inFlight[index] ?? 0) + 1
      context.index = index
      return { ...params, path: pathOf(index) }
    },
    onResponse (_status, _body, context) {
      const index = context.index
      if (typeof index === 'number' && (inFlight[index] ?? 0) > 0) inFlight[index] = (inFlight[index] ?? 0) - 1
    }
  }
  return await autocannon({ url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration: durationS, requests: [request] })
}

/** A workload whose first answer is not an image is reported as failed rather than measured. */
async function firstRequest (port: number, urlPathname: string): Promise<string | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${urlPathname}`, { signal: AbortSignal.timeout(30_000) })
    const body = Buffer.from(await response.arrayBuffer())
    if (response.status !== 200) return `first request answered ${response.status}: ${body.toString('utf8').slice(0, 300)}`
    const contentType = response.headers.get('content-type') ?? 'no content-type'
    return contentType.startsWith('image/') ? null : `first request answered ${contentType}`
  } catch (error) {
    return `first request failed: ${error instanceof Error ? error.message : String(error)}`
  }
}

async function measure (kind: ServerKind, workload: Workload, files: Files): Promise<Row> {
  process.stderr.write(`  ${workload.name} / ${kind}: starting\n`)
  let server: ServerProcess
  try {
    server = await startServer(kind, workload, files)
  } catch (error) {
    return { ...emptyRow(kind), failure: error instanceof Error ? error.message : String(error) }
  }
  try {
    const pathOf = (index: number): string => urlPath(kind, workload, index)
    // Also the warming request of the cache-hit workload.
    const failure = await firstRequest(server.port, pathOf(0))
    if (failure !== null) return { ...emptyRow(kind), failure, peakRssMb: peakRssMb(server.child.pid) }
    process.stderr.write(`  ${workload.name} / ${kind}: warm-up ${WARMUP_S} s, then ${DURATION_S} s measured\n`)
    await load(server.port, pathOf, WARMUP_S)
    await waitIdle(server.child.pid)
    const result = await load(server.port, pathOf, DURATION_S)
    return {
      server: kind,
      failure: null,
      reqPerSec: result['2xx'] / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      peakRssMb: peakRssMb(server.child.pid),
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, stat]) => [code, stat.count]))
    }
  } finally {
    await stopServerProcess(server)
  }
}

function describe (workload: Workload): string {
  const what = workload.cached ? 'one fixed URL, served from memory' : `${IDS} distinct ${workload.source} ids, no cache`
  return `${what}: ?${workload.query}`
}

async function main (): Promise<void> {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-bench-'))
  const files = prepareFiles(tempDir)

  console.log('# delivery-images benchmark: service vs bare node:http + sharp')
  console.log(`node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ${os.availableParallelism()} CPUs`)
  console.log(`autocannon: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up then ${DURATION_S} s measured (BENCH_DURATION_S), per server and workload`)
  console.log('peak RSS: VmHWM of the server process, a fresh process per workload (startup + warm-up + measured run)')
  // Other processes on the machine skew every number; the load average shows whether there were any.
  console.log(`load average (1 min) at start: ${loadAverage()}`)

  const results: WorkloadResult[] = []
  // BENCH_ONLY=cache-hit (comma-separated names) runs a subset, e.g. while tuning one path.
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter((name) => name !== '')
  for (const workload of WORKLOADS.filter((w) => only === undefined || only.includes(w.name))) {
    const service = await measure('service', workload, files)
    const bare = await measure('bare', workload, files)
    const result = compare(workload, service, bare)
    results.push(result)
    printWorkload(result, describe(workload))
  }

  const outcomes = checkTargets(results)
  console.log(`\nload average (1 min) at end: ${loadAverage()}`)
  printTargets(outcomes)
  const meta = { node: process.version, cpus: os.availableParallelism(), connections: CONNECTIONS, warmupSeconds: WARMUP_S, durationSeconds: DURATION_S }
  console.log(`\n${summaryLine(meta, results, outcomes)}`)
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
