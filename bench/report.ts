/** What `npm run bench` measures and how it prints it: a table per workload, the targets, a JSON line. */

export type Source = 'kleiber' | 'raindrops'
export type ServerKind = 'service' | 'bare'

export interface Workload {
  name: string
  source: Source
  query: string
  /** One fixed URL served from memory, instead of a new transformation per request. */
  cached: boolean
}

export interface Row {
  server: ServerKind
  /** Why the run produced no numbers (start failure, first request not a 200). */
  failure: string | null
  /** 2xx responses per second of the measured window. */
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  peakRssMb: number | null
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
}

export interface WorkloadResult {
  workload: Workload
  rows: Record<ServerKind, Row>
  ratios: { throughput: number | null, p99: number | null, rss: number | null }
}

interface Target { name: string, workload: string, measure: 'throughput' | 'serviceRss', atLeast?: number, below?: number }

const TARGETS: readonly Target[] = [
  { name: '12mp uncached throughput >= 0.9x bare', workload: '12mp-jpeg-400-q80-uncached', measure: 'throughput', atLeast: 0.9 },
  { name: '2mp uncached throughput >= 0.9x bare', workload: '2mp-jpeg-400-webp-uncached', measure: 'throughput', atLeast: 0.9 },
  { name: 'cache-hit throughput >= 0.7x bare', workload: 'cache-hit', measure: 'throughput', atLeast: 0.7 },
  { name: 'service peak RSS (12mp uncached) < 512 MB', workload: '12mp-jpeg-400-q80-uncached', measure: 'serviceRss', below: 512 }
]

export interface TargetOutcome { name: string, value: number | null, met: boolean, note: string | null }

export function emptyRow (server: ServerKind): Row {
  return { server, failure: null, reqPerSec: 0, p50Ms: 0, p99Ms: 0, peakRssMb: null, requests: 0, non2xx: 0, errors: 0, timeouts: 0, statusCodes: {} }
}

export function compare (workload: Workload, service: Row, bare: Row): WorkloadResult {
  // Throughput and latency of a server that failed to start mean nothing; its memory still may.
  const bothRan = service.failure === null && bare.failure === null
  return {
    workload,
    rows: { service, bare },
    ratios: {
      throughput: bothRan ? ratio(service.reqPerSec, bare.reqPerSec) : null,
      p99: bothRan ? ratio(service.p99Ms, bare.p99Ms) : null,
      rss: ratio(service.peakRssMb, bare.peakRssMb)
    }
  }
}

function ratio (service: number | null, bare: number | null): number | null {
  if (service === null || bare === null || bare === 0) return null
  return service / bare
}

function hasProblems (row: Row): boolean {
  return row.failure !== null || row.non2xx > 0 || row.errors > 0 || row.timeouts > 0 || row.reqPerSec === 0
}

export function printWorkload (result: WorkloadResult, description: string): void {
  const { workload, rows, ratios } = result
  const header = ['server', 'req/s (2xx)', 'p50 ms', 'p99 ms', 'peak RSS MB', 'requests', 'non-2xx', 'errors', 'timeouts']
  const lines = [header]
  for (const row of [rows.service, rows.bare]) {
    lines.push(row.failure !== null
      ? [row.server, 'FAILED', '-', '-', fixed(row.peakRssMb, 0), '-', '-', '-', '-']
      : [row.server, fixed(row.reqPerSec, 1), fixed(row.p50Ms, 0), fixed(row.p99Ms, 0), fixed(row.peakRssMb, 0),
          String(row.requests), String(row.non2xx), String(row.errors), String(row.timeouts)])
  }
  const widths = header.map((_cell, column) => Math.max(...lines.map((line) => (line[column] ?? '').length)))
  const pad = (cell: string, column: number): string => column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)
  console.log(`\n## ${workload.name}`)
  console.log(`   ${description}`)
  for (const line of lines) console.log(`   ${line.map(pad).join('  ')}`)
  console.log(`   service/bare: throughput ${times(ratios.throughput)}, p99 ${times(ratios.p99)}, peak RSS ${times(ratios.rss)}`)
  for (const row of [rows.service, rows.bare]) {
    if (row.failure !== null) console.log(`   !! ${row.server} FAILED: ${row.failure}`)
    else if (row.requests === 0) console.log(`   !! ${row.server} completed no request in the measured window: raise BENCH_DURATION_S`)
    else if (hasProblems(row)) console.log(`   !! ${row.server} had ${row.non2xx} non-2xx, ${row.errors} errors, ${row.timeouts} timeouts; status codes ${JSON.stringify(row.statusCodes)}`)
  }
}

export function checkTargets (results: readonly WorkloadResult[]): TargetOutcome[] {
  return TARGETS.map((target) => {
    const result = results.find((candidate) => candidate.workload.name === target.workload)
    if (result === undefined) return { name: target.name, value: null, met: false, note: 'workload not run' }
    const value = target.measure === 'throughput' ? result.ratios.throughput : result.rows.service.peakRssMb
    const met = value !== null && (target.atLeast === undefined || value >= target.atLeast) && (target.below === undefined || value < target.below)
    const troubled = hasProblems(result.rows.service) || hasProblems(result.rows.bare)
    return { name: target.name, value, met, note: troubled ? 'a run failed, answered non-2xx or completed nothing' : null }
  })
}

export function printTargets (outcomes: readonly TargetOutcome[]): void {
  console.log('## targets')
  for (const outcome of outcomes) {
    const value = outcome.value === null ? 'n/a' : outcome.name.includes('RSS') ? `${outcome.value.toFixed(0)} MB` : times(outcome.value)
    console.log(`   ${outcome.met ? 'MET   ' : 'MISSED'}  ${outcome.name}: ${value}${outcome.note === null ? '' : `  (!! ${outcome.note})`}`)
  }
}

/** One line of JSON with every number, to paste or to compare runs. */
export function summaryLine (meta: Record<string, unknown>, results: readonly WorkloadResult[], outcomes: readonly TargetOutcome[]): string {
  return JSON.stringify({
    bench: 'delivery-images',
    ...meta,
    workloads: Object.fromEntries(results.map((result) => [result.workload.name, {
      service: rounded(result.rows.service),
      bare: rounded(result.rows.bare),
      ratios: { throughput: round(result.ratios.throughput, 3), p99: round(result.ratios.p99, 3), rss: round(result.ratios.rss, 3) }
    }])),
    targets: outcomes.map((outcome) => ({ ...outcome, value: round(outcome.value, 3) }))
  })
}

function fixed (value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits)
}

function times (value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)}x`
}

function round (value: number | null, digits: number): number | null {
  return value === null ? null : Number(value.toFixed(digits))
}

function rounded (row: Row): Row {
  return { ...row, reqPerSec: round(row.reqPerSec, 1) ?? 0, peakRssMb: round(row.peakRssMb, 1) }
}
