/**
 * One piece of work per key, shared by every caller that asks for it while it runs (concurrent
 * misses of one image, one original read for several variants, one version check). Each caller
 * may leave with its own signal; the work itself is aborted only once every caller has left, so
 * shared work goes on while anyone still wants it.
 */
export interface SingleFlight<V> {
  run: (key: string, work: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal) => Promise<V>
  /** Keys whose work is running. */
  readonly size: number
}

interface Flight<V> {
  promise: Promise<V>
  controller: AbortController
  waiters: number
}

export function createSingleFlight<V> (): SingleFlight<V> {
  const flights = new Map<string, Flight<V>>()

  function start (key: string, work: (signal: AbortSignal) => Promise<V>): Flight<V> {
    const controller = new AbortController()
    const flight: Flight<V> = { promise: Promise.resolve().then(async () => await work(controller.signal)), controller, waiters: 0 }
    // Settled work leaves the map; callers that all left have already removed it.
    void flight.promise.then(() => {}, () => {}).finally(() => { if (flights.get(key) === flight) flights.delete(key) })
    flights.set(key, flight)
    return flight
  }

  return {
    async run (key, work, signal) {
      signal?.throwIfAborted()
      const flight = flights.get(key) ?? start(key, work)
      flight.waiters++
      if (signal === undefined) return await flight.promise
      return await new Promise<V>((resolve, reject) => {
        const leave = (): void => {
          flight.waiters--
          reject(signal.reason)
          if (flight.waiters === 0) {
            if (flights.get(key) === flight) flights.delete(key)
            flight.controller.abort(signal.reason)
          }
        }
        signal.addEventListener('abort', leave, { once: true })
        flight.promise.then(resolve, reject).finally(() => { signal.removeEventListener('abort', leave) })
      })
    },
    get size () { return flights.size }
  }
}
