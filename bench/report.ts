import type { WrkResult } from './wrk.ts'

/** How `npm run bench` prints: a table per workload, notes, the targets, and one JSON line. */

export interface Row {
  server: string
  connections: number
  /** 2xx (and 3xx) responses per second of the measured window. */
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  peakRssMb: number | null
}

export function rowOf (server: string, connections: number, result: WrkResult, peakRssMb: number | null): Row {
  return {
    server,
    connections,
    reqPerSec: (result.requests - result.non2xx) / result.durationS,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    requests: result.requests,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    peakRssMb
  }
}

export interface Section {
  name: string
  description: string
  rows: Row[]
  /** Lines under the table: ratios, measurements that are not a wrk run, warnings (`!! …`). */
  notes: string[]
  /** Overload answers 503 by design: no warning for them. */
  expectsNon2xx?: boolean
}

export function printSection (section: Section): void {
  console.log(`\n## ${section.name}`)
  console.log(`   ${section.description}`)
  if (section.rows.length > 0) {
    const header = ['server', 'c', 'req/s (2xx)', 'p50 ms', 'p99 ms', 'peak RSS MB', 'requests', 'non-2xx', 'errors', 'timeouts']
    const lines = [header, ...section.rows.map((row) => [
      row.server, String(row.connections), fixed(row.reqPerSec, 1), fixed(row.p50Ms, 0), fixed(row.p99Ms, 0), fixed(row.peakRssMb, 0),
      String(row.requests), String(row.non2xx), String(row.errors), String(row.timeouts)
    ])]
    const widths = header.map((_cell, column) => Math.max(...lines.map((line) => (line[column] ?? '').length)))
    const pad = (cell: string, column: number): string => column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)
    for (const line of lines) console.log(`   ${line.map(pad).join('  ')}`)
  }
  for (const row of section.rows) {
    if (row.requests === 0) section.notes.push(`!! ${row.server} c=${row.connections} completed no request: raise BENCH_DURATION_S`)
    else if ((section.expectsNon2xx === true ? 0 : row.non2xx) + row.errors + row.timeouts > 0) section.notes.push(`!! ${row.server} c=${row.connections}: ${row.non2xx} non-2xx, ${row.errors} socket errors, ${row.timeouts} timeouts`)
  }
  for (const note of section.notes) console.log(`   ${note}`)
}

export type Unit = 'x' | 'ms' | 's' | 'MB' | ''

export interface Target {
  name: string
  value: number | null
  unit: Unit
  atLeast?: number
  atMost?: number
  below?: number
  /** Why the value cannot be trusted or is missing; the target is then missed. */
  problem?: string | null
}

export function isMet (target: Target): boolean {
  const { value } = target
  return value !== null && (target.problem ?? null) === null &&
    (target.atLeast === undefined || value >= target.atLeast) &&
    (target.atMost === undefined || value <= target.atMost) &&
    (target.below === undefined || value < target.below)
}

export function printTargets (targets: readonly Target[]): void {
  console.log('\n## targets')
  for (const target of targets) {
    const problem = (target.problem ?? null) === null ? '' : `  (!! ${target.problem})`
    console.log(`   ${isMet(target) ? 'MET   ' : 'MISSED'}  ${target.name}: ${format(target.value, target.unit)}${problem}`)
  }
  const met = targets.filter(isMet).length
  console.log(`   ${met} of ${targets.length} met`)
}

/** One line of JSON with every number, to paste or to compare runs. */
export function summaryLine (meta: Record<string, unknown>, sections: readonly Section[], targets: readonly Target[]): string {
  return JSON.stringify({
    bench: 'delivery-images',
    ...meta,
    workloads: Object.fromEntries(sections.map((section) => [section.name, {
      rows: section.rows.map((row) => ({ ...row, reqPerSec: round(row.reqPerSec, 1), p50Ms: round(row.p50Ms, 1), p99Ms: round(row.p99Ms, 1), peakRssMb: round(row.peakRssMb, 0) })),
      notes: section.notes
    }])),
    targets: targets.map((target) => ({ name: target.name, value: round(target.value, 3), met: isMet(target), problem: target.problem ?? null }))
  })
}

export function ratio (value: number | null | undefined, base: number | null | undefined): number | null {
  if (value === null || value === undefined || base === null || base === undefined || base === 0) return null
  return value / base
}

export function format (value: number | null, unit: Unit): string {
  if (value === null) return 'n/a'
  if (unit === 'x') return `${value.toFixed(2)}x`
  if (unit === 's') return `${value.toFixed(2)} s`
  if (unit === '') return value.toFixed(0)
  return `${value.toFixed(0)} ${unit}`
}

function fixed (value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits)
}

function round (value: number | null, digits: number): number | null {
  return value === null ? null : Number(value.toFixed(digits))
}
