import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-'))
fs.mkdirSync(path.join(dir, 'o/b/s/i'), { recursive: true })
for (let i = 0; i < 64; i++) fs.copyFileSync('data/originals/demo/news/photos/kleiber.jpg', path.join(dir, `o/b/s/i/k${i}.jpg`))
fs.writeFileSync(path.join(dir, 'l.json'), JSON.stringify({ buckets: { 'b/s/i': { adHoc: 'allow' } } }))
const child = spawn(process.execPath, [...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=.prof/cpuprof'] : []), 'src/main.ts'], { env: { ...process.env, PORT: '18181', HOST: '127.0.0.1', ADMIN_PORT: '18182', ORIGIN_FS_ROOT: path.join(dir, 'o'), LOGIC_FILE: path.join(dir, 'l.json'), STATSD_ENABLED: 'false', CACHE_MEMORY_MAX_BYTES: '0', SHUTDOWN_DRAIN_MS: '0' }, stdio: ['ignore', 'ignore', 'inherit'] })
await new Promise((r) => setTimeout(r, 1500))
const ticks = () => { const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]) }
const t0 = ticks(); const w0 = Date.now()
let n = 0
const result = await autocannon({ url: 'http://127.0.0.1:18181', connections: Number(process.env.C ?? 32), duration: 8, requests: [{ setupRequest: (r: { path: string }) => ({ ...r, path: `/tenants/b/domains/s/buckets/i/images/k${n++ % 64}.jpg?w=400&q=80&fm=jpeg` }) }] } as never) as { requests: { average: number } }
const cpu = (ticks() - t0) / 100 / ((Date.now() - w0) / 1000)
const threads = fs.readdirSync(`/proc/${child.pid}/task`).map((tid) => { const st = fs.readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8'); const name = st.slice(st.indexOf('(') + 1, st.indexOf(')')); const f = st.split(') ')[1]!.split(' '); return [name, (Number(f[11]) + Number(f[12])) / 100] as const }).filter(([, t]) => t > 0.05)
console.log(threads)
console.log('req/s', result.requests.average, 'service cpu', cpu.toFixed(2))
child.kill('SIGTERM')
fs.rmSync(dir, { recursive: true })
