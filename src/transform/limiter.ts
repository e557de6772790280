import pLimit from 'p-limit'
import { DeliveryError } from '../errors.ts'

export interface LimiterSettings {
  maxConcurrent: number
  maxQueue: number
}

/**
 * A place in the limiter, taken before the original is fetched (a request fetching or probing
 * its original counts as waiting, so a burst cannot hold more originals than the queue allows).
 */
export interface Admission {
  /**
   * Runs the task in a slot. The caller's promise rejects with TRANSFORM_TIMEOUT at the deadline,
   * but the slot is released only when the task really ends: libvips cannot always be stopped
   * (an AVIF encode runs to completion), and abandoned work must still count against the limit.
   */
  run: <T>(task: () => Promise<T>, timeoutMs?: number) => Promise<T>
  /** Gives the place back unused (the request failed before its transformation). */
  release: () => void
}

/**
 * Bounds CPU-heavy work: at most `maxConcurrent` transformations run and at most `maxQueue` wait
 * (or fetch their original); beyond that a request is refused at once with 503 OVERLOADED rather
 * than piling up memory and latency (SPEC §3). Both bounds can change at run time.
 *
 * p-limit's linked-list queue drops each task as it starts. (p-queue keeps started tasks in its
 * array until a compaction, and under steady load that held ~100 originals of several MB alive.)
 */
export interface TransformLimiter {
  /** Takes a place or throws OVERLOADED. */
  admit: () => Admission
  /** Throws OVERLOADED if a new request could not be admitted now; takes no place. */
  checkCapacity: () => void
  /** admit().run(task, timeoutMs) */
  run: <T>(task: () => Promise<T>, timeoutMs?: number) => Promise<T>
  /** Transformations waiting for a slot, or fetching their original for one. */
  readonly queued: number
  readonly running: number
  configure: (settings: LimiterSettings) => void
}

export function createTransformLimiter (initial: LimiterSettings): TransformLimiter {
  const limit = pLimit(initial.maxConcurrent)
  let maxQueue = initial.maxQueue
  let reserved = 0

  function checkCapacity (): void {
    if (limit.activeCount + limit.pendingCount + reserved >= limit.concurrency + maxQueue) {
      throw new DeliveryError('OVERLOADED', undefined, { retryAfterSeconds: 1 })
    }
  }

  function admit (): Admission {
    checkCapacity()
    reserved++
    let holding = true
    const release = (): void => {
      if (holding) reserved--
      holding = false
    }
    return {
      release,
      run: async <T>(task: () => Promise<T>, timeoutMs = Number.POSITIVE_INFINITY) => await new Promise<T>((resolve, reject) => {
        release()
        void limit(async () => {
          const timer = Number.isFinite(timeoutMs)
            ? setTimeout(() => { reject(new DeliveryError('TRANSFORM_TIMEOUT')) }, timeoutMs)
            : undefined
          try {
            resolve(await task())
          } catch (error) {
            reject(error)
          } finally {
            clearTimeout(timer)
          }
        })
      })
    }
  }

  return {
    admit,
    checkCapacity,
    run: async (task, timeoutMs) => await admit().run(task, timeoutMs),
    get queued () { return limit.pendingCount + reserved },
    get running () { return limit.activeCount },
    configure (settings) {
      limit.concurrency = settings.maxConcurrent
      maxQueue = settings.maxQueue
    }
  }
}
