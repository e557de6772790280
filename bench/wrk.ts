import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/**
 * The load generator of `npm run bench`: wrk (C, event loop, one thread) driven by a Lua script
 * written for each run. Request k asks for `<prefix><first + k mod count><suffix>`, so requests in
 * flight together name distinct images and the service's merging of identical concurrent
 * requests cannot flatter it. `done()` prints one `BENCH_JSON {…}` line that runWrk parses.
 */

export interface WrkPaths { prefix: string, suffix: string, first: number, count: number }

export interface WrkOptions {
  port: number
  paths: WrkPaths
  connections: number
  durationS: number
  /**
   * Count statuses and time each response by status (a wrk-side clock, matched through
   * `X-Request-Id`, which the service echoes). Defining `response()` costs wrk its fast path:
   * only for workloads that need it.
   */
  statuses?: boolean
  /** The directory the Lua script is written to. */
  dir: string
}

export interface StatusStats {
  count: number
  /** 503s without a Retry-After header. */
  noRetryAfter: number
  /** Responses matched to their request, hence timed. */
  timed: number
  p50Ms: number | null
  p99Ms: number | null
}

export interface WrkResult {
  durationS: number
  requests: number
  /** Responses with a status of 400 or more (wrk's count). */
  non2xx: number
  /** Connect, read and write errors. */
  errors: number
  timeouts: number
  /** Latency of every response, whatever its status. */
  p50Ms: number
  p99Ms: number
  statuses: Record<string, StatusStats> | null
}

const TIMEOUT_S = 20

const LUA_COMMON = `
local threads = {}
function setup (thread) table.insert(threads, thread) end
function init (args) next_id = 0; sent = 0; started = {}; counts = {}; no_retry_after = 0 end

local ffi = require('ffi')
ffi.cdef [[ typedef struct { long sec; long nsec; } bench_timespec; int clock_gettime (int clock, bench_timespec *now); ]]
local now_buffer = ffi.new('bench_timespec')
local function now_ms () ffi.C.clock_gettime(1, now_buffer); return tonumber(now_buffer.sec) * 1000 + tonumber(now_buffer.nsec) / 1e6 end

function request ()
  local path = prefix .. (first + next_id) .. suffix
  next_id = (next_id + 1) % count
  if not with_statuses then return wrk.format('GET', path) end
  sent = sent + 1
  started[sent] = now_ms()
  return wrk.format('GET', path, { ['X-Request-Id'] = 'bench-' .. sent })
end

local function number (value) return value == nil and 'null' or string.format('%.3f', value) end
local function percentile (sorted, p) if #sorted == 0 then return nil end return sorted[math.max(1, math.ceil(#sorted * p / 100))] end

function done (summary, latency, requests)
  local e = summary.errors
  local out = string.format('"durationUs":%d,"requests":%d,"non2xx":%d,"errors":%d,"timeouts":%d,"p50Us":%.0f,"p99Us":%.0f',
    summary.duration, summary.requests, e.status, e.connect + e.read + e.write, e.timeout, latency:percentile(50), latency:percentile(99))
  if with_statuses then
    local totals, lists, missing = {}, {}, 0
    for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get('counts')) do
        totals[code] = (totals[code] or 0) + n
        local all = lists[code] or {}
        for _, ms in ipairs(thread:get('timings_' .. code) or {}) do all[#all + 1] = ms end
        lists[code] = all
      end
      missing = missing + thread:get('no_retry_after')
    end
    local items = {}
    for code, n in pairs(totals) do
      local list = lists[code] or {}
      table.sort(list)
      items[#items + 1] = string.format('"%s":{"count":%d,"noRetryAfter":%d,"timed":%d,"p50Ms":%s,"p99Ms":%s}',
        code, n, code == '503' and missing or 0, #list, number(percentile(list, 50)), number(percentile(list, 99)))
    end
    out = out .. ',"statuses":{' .. table.concat(items, ',') .. '}'
  end
  io.write('BENCH_JSON {' .. out .. '}\\n')
end
`

const LUA_RESPONSE = `
function response (status, headers, body)
  local code = tostring(status)
  counts[code] = (counts[code] or 0) + 1
  if status == 503 and headers['retry-after'] == nil then no_retry_after = no_retry_after + 1 end
  local n = tonumber(string.match(headers['x-request-id'] or '', '^bench%-(%d+)$') or '')
  if n ~= nil and started[n] ~= nil then
    -- One flat global per status: wrk's thread:get mangles nested tables.
    local list = _G['timings_' .. code] or {}
    list[#list + 1] = now_ms() - started[n]
    _G['timings_' .. code] = list
    started[n] = nil
  end
end
`

/** Exits the bench with a clear message when wrk is missing. */
export function requireWrk (): void {
  const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' })
  if (probe.error !== undefined) {
    process.stderr.write('npm run bench needs wrk on PATH (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk)\n')
    process.exit(1)
  }
}

let scripts = 0
const running = new Set<ChildProcess>()

/** Synchronous, so that it also works from a process 'exit' handler. */
export function killWrk (): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

export async function runWrk (options: WrkOptions): Promise<WrkResult> {
  const { paths } = options
  const script = path.join(options.dir, `load-${++scripts}.lua`)
  // JSON string literals of ASCII paths are valid Lua string literals.
  fs.writeFileSync(script, [
    `prefix = ${JSON.stringify(paths.prefix)}; suffix = ${JSON.stringify(paths.suffix)}`,
    `first = ${paths.first}; count = ${paths.count}; with_statuses = ${options.statuses === true}`,
    LUA_COMMON,
    options.statuses === true ? LUA_RESPONSE : ''
  ].join('\n'))
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationS}s`, `--timeout=${TIMEOUT_S}s`, '-s', script, `http://127.0.0.1:${options.port}`]
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  // wrk stops on its own after -d; this only guards against a wedged run.
  const killer = setTimeout(() => child.kill('SIGKILL'), (options.durationS + TIMEOUT_S + 10) * 1000)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(killer)
  running.delete(child)
  const line = output.split('\n').find((candidate) => candidate.startsWith('BENCH_JSON '))
  if (code !== 0 || line === undefined) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}): ${output.slice(-1000)}`)
  const raw = JSON.parse(line.slice('BENCH_JSON '.length)) as Omit<WrkResult, 'durationS' | 'p50Ms' | 'p99Ms'> & { durationUs: number, p50Us: number, p99Us: number }
  return {
    durationS: raw.durationUs / 1e6,
    requests: raw.requests,
    non2xx: raw.non2xx,
    errors: raw.errors,
    timeouts: raw.timeouts,
    p50Ms: raw.p50Us / 1000,
    p99Ms: raw.p99Us / 1000,
    statuses: raw.statuses ?? null
  }
}
