import os from 'node:os'
import { DeliveryError } from '../errors.ts'
import { createConcurrencyController, type ConcurrencyController } from './concurrency.ts'

export interface LimiterSettings {
  /** Transformations running at once, or `auto` (adaptive). */
  concurrency: number | 'auto'
  /** Waiting transformations beyond which a request is refused. */
  maxQueue: number
  /** Longest wait for a slot. */
  queueTimeoutMs: number
  /** Share of slots + queue one tenant may hold while others wait. */
  tenantMaxShare: number
}

/** A transformation's place in the queue; its original is read once the slot is granted. */
export interface Ticket {
  /**
   * Waits for a slot. Rejects with 503 OVERLOADED after `queueTimeoutMs`, or with the signal's
   * reason when the client left; either way the place is given back.
   */
  slot: () => Promise<Slot>
  /** Gives the place back unused (the request failed before its transformation). */
  cancel: () => void
}

export interface Slot {
  /** The transformation ended; the work it did (see transform-image.ts) feeds the adaptive limit. */
  done: (sample?: { work: number }) => void
  /**
   * Every client of the transformation left while libvips still runs (it cannot always be stopped:
   * an AVIF encode runs to completion). The slot is freed for waiting work unless as many orphans
   * as slots already run, so abandoned work neither blocks fresh requests nor grows without bound.
   */
  orphan: () => void
}

export interface LimiterState {
  mode: 'auto' | 'fixed'
  limit: number
  running: number
  /** Running but abandoned by every client (not counted against the limit). */
  orphaned: number
  waiting: number
  queued: number
  byTenant: Record<string, number>
}

/**
 * Bounds CPU-heavy work: at most `limit` transformations run (reading their original
 * included), at most `maxQueue` wait, nobody waits longer than `queueTimeoutMs`, a client that leaves gives
 * its place back at once, and while other tenants wait no tenant holds more than `tenantMaxShare`
 * of slots + queue. When a slot frees, the waiting tenant with the fewest running transformations
 * goes first, so one tenant's flood cannot starve another's steady trickle.
 *
 * Hand-written: p-limit/p-queue have neither per-tenant shares, nor removal of a departed waiter,
 * nor a limit that adapts to measured throughput.
 */
export interface TransformLimiter {
  /** Takes a place or throws 503 OVERLOADED (queue full, or the tenant over its share). */
  enter: (request: { tenant: string, signal?: AbortSignal | undefined }) => Ticket
  /** Waiting for a slot or holding a place before one (the `transform.queue.depth` gauge). */
  readonly queued: number
  /** Running in libvips, orphans included. */
  readonly running: number
  state: () => LimiterState
  configure: (settings: LimiterSettings) => void
  /** Told the new limit whenever it changes (the `transform.concurrency.limit` gauge). */
  onLimit: (listener: (limit: number) => void) => void
}

interface Waiter {
  tenant: string
  grant: () => void
}

const OVERLOADED = (reason: string): DeliveryError => new DeliveryError('OVERLOADED', `Server overloaded: ${reason}`, { retryAfterSeconds: 1 })

export function createTransformLimiter (
  initial: LimiterSettings,
  cpus = os.availableParallelism(),
  now: () => number = () => performance.now()
): TransformLimiter {
  let settings = initial
  let controller: ConcurrencyController | null = null
  let fixedLimit = 1
  const listeners: Array<(limit: number) => void> = []
  /** Places per tenant: waiting or running, orphans included. */
  const held = new Map<string, number>()
  const runningByTenant = new Map<string, number>()
  const waiters: Waiter[] = []
  let reserved = 0
  let running = 0
  let orphaned = 0

  const limit = (): number => controller?.limit ?? fixedLimit
  const capacity = (): number => limit() + settings.maxQueue

  function adjust (map: Map<string, number>, tenant: string, delta: number): void {
    const next = (map.get(tenant) ?? 0) + delta
    if (next === 0) map.delete(tenant)
    else map.set(tenant, next)
  }

  /** The waiting tenant with the fewest transformations running goes next; FIFO within a tenant. */
  function nextWaiter (): Waiter | undefined {
    let best = -1
    for (let index = 0; index < waiters.length; index++) {
      const candidate = waiters[index]
      const current = waiters[best]
      if (candidate === undefined) continue
      if (current === undefined || (runningByTenant.get(candidate.tenant) ?? 0) < (runningByTenant.get(current.tenant) ?? 0)) best = index
    }
    return best === -1 ? undefined : waiters.splice(best, 1)[0]
  }

  function pump (): void {
    while (running - orphaned < limit()) {
      const waiter = nextWaiter()
      if (waiter === undefined) return
      waiter.grant()
    }
  }

  function configure (next: LimiterSettings): void {
    settings = next
    if (next.concurrency === 'auto') {
      controller ??= createConcurrencyController({ min: 1, max: 4 * cpus, initial: cpus })
    } else {
      controller = null
      fixedLimit = next.concurrency
    }
    for (const listener of listeners) listener(limit())
    pump()
  }
  configure(initial)

  function enter ({ tenant, signal }: { tenant: string, signal?: AbortSignal | undefined }): Ticket {
    signal?.throwIfAborted()
    const total = running - orphaned + reserved
    const mine = held.get(tenant) ?? 0
    const share = Math.max(1, Math.floor(settings.tenantMaxShare * capacity()))
    const others = total - mine
    if (others > 0 && mine + 1 > share) throw OVERLOADED('this tenant holds its share of the transform capacity')
    // Full because of another tenant's flood: a tenant still under its share gets in anyway (up to
    // one share beyond capacity), so a flood that arrived first cannot lock the others out.
    const hogged = [...held].some(([other, places]) => other !== tenant && places > share)
    if (total >= capacity() && !(hogged && total < capacity() + share)) throw OVERLOADED('transform queue full')
    reserved++
    adjust(held, tenant, 1)
    let state: 'holding' | 'waiting' | 'granted' | 'left' = 'holding'

    const leave = (): void => {
      if (state === 'left' || state === 'granted') return
      state = 'left'
      reserved--
      adjust(held, tenant, -1)
    }

    return {
      cancel: leave,
      slot: async () => await new Promise<Slot>((resolve, reject) => {
        if (state !== 'holding') throw new Error('a ticket gives one slot')
        state = 'waiting'
        const stopWaiting = (): void => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        }
        const giveUp = (error: unknown): void => {
          stopWaiting()
          const index = waiters.indexOf(waiter)
          if (index !== -1) waiters.splice(index, 1)
          leave()
          reject(error)
        }
        const onAbort = (): void => { giveUp(signal?.reason) }
        const waiter: Waiter = {
          tenant,
          grant: () => {
            stopWaiting()
            reserved--
            state = 'granted'
            running++
            adjust(runningByTenant, tenant, 1)
            resolve(startSlot(tenant))
          }
        }
        const timer = setTimeout(() => { giveUp(OVERLOADED(`no transform slot within ${settings.queueTimeoutMs} ms`)) }, settings.queueTimeoutMs)
        if (signal?.aborted === true) {
          giveUp(signal.reason)
          return
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        waiters.push(waiter)
        pump()
      })
    }
  }

  function startSlot (tenant: string): Slot {
    let isOrphan = false
    let ended = false
    return {
      orphan () {
        if (ended || isOrphan || orphaned >= limit()) return
        isOrphan = true
        orphaned++
        // Still counted in the tenant's places: abandoning work over and over cannot widen a share.
        pump()
      },
      done (sample) {
        if (ended) return
        ended = true
        running--
        adjust(runningByTenant, tenant, -1)
        if (isOrphan) orphaned--
        adjust(held, tenant, -1)
        if (sample !== undefined && controller !== null) {
          const before = controller.limit
          controller.sample(sample.work, waiters.length > 0, now())
          if (controller.limit !== before) for (const listener of listeners) listener(controller.limit)
        }
        pump()
      }
    }
  }

  return {
    enter,
    get queued () { return reserved },
    get running () { return running },
    state: () => ({
      mode: controller === null ? 'fixed' : 'auto',
      limit: limit(),
      running,
      orphaned,
      waiting: waiters.length,
      queued: reserved,
      byTenant: Object.fromEntries(held)
    }),
    configure,
    onLimit: (listener) => { listeners.push(listener) }
  }
}
