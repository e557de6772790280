import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSingleFlight } from '../../../src/resilience/single-flight.ts'

/** Work that finishes when the test says so, and records whether it was aborted. */
function controllable () {
  let finish: (value: string) => void = () => {}
  const seen = { starts: 0, aborted: false }
  const work = async (signal: AbortSignal): Promise<string> => {
    seen.starts++
    seen.aborted = signal.aborted
    signal.addEventListener('abort', () => { seen.aborted = true })
    return await new Promise<string>((resolve) => { finish = resolve })
  }
  return { work, seen, finish: (value: string) => { finish(value) } }
}

test('concurrent callers of one key share one run', async () => {
  const flight = createSingleFlight<string>()
  const { work, seen, finish } = controllable()
  const answers = Promise.all([flight.run('k', work), flight.run('k', work), flight.run('k', work)])
  await Promise.resolve()
  finish('done')
  assert.deepEqual(await answers, ['done', 'done', 'done'])
  assert.equal(seen.starts, 1)
  assert.equal(flight.size, 0)
})

test('a caller that leaves gets its abort; the work goes on for the others', async () => {
  const flight = createSingleFlight<string>()
  const { work, seen, finish } = controllable()
  const leaving = new AbortController()
  const first = flight.run('k', work, leaving.signal)
  const second = flight.run('k', work, new AbortController().signal)
  leaving.abort(new Error('client left'))
  await assert.rejects(first, /client left/)
  assert.equal(seen.aborted, false)
  finish('done')
  assert.equal(await second, 'done')
})

test('when every caller left, the work is aborted and a new caller starts afresh', async () => {
  const flight = createSingleFlight<string>()
  const { work, seen } = controllable()
  const a = new AbortController()
  const b = new AbortController()
  const runs = [flight.run('k', work, a.signal), flight.run('k', work, b.signal)]
  a.abort(new Error('gone'))
  b.abort(new Error('gone'))
  for (const run of runs) await assert.rejects(run, /gone/)
  assert.equal(seen.aborted, true)
  assert.equal(flight.size, 0)
  const next = controllable()
  const fresh = flight.run('k', next.work)
  await Promise.resolve()
  next.finish('again')
  assert.equal(await fresh, 'again')
})

test('an already aborted caller starts nothing', async () => {
  const flight = createSingleFlight<string>()
  const { work, seen } = controllable()
  await assert.rejects(flight.run('k', work, AbortSignal.abort(new Error('gone'))), /gone/)
  assert.equal(seen.starts, 0)
})

test('a failure reaches every caller and is not kept', async () => {
  const flight = createSingleFlight<string>()
  let calls = 0
  const failing = async (): Promise<string> => { calls++; throw new Error('down') }
  await Promise.all([assert.rejects(flight.run('k', failing), /down/), assert.rejects(flight.run('k', failing), /down/)])
  await assert.rejects(flight.run('k', failing), /down/)
  assert.equal(calls, 2)
})
