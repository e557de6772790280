import pLimit from 'p-limit'
import { DeliveryError } from '../errors.ts'

export interface LimiterSettings {
  maxConcurrent: number
  maxQueue: number
}

/**
 * Bounds CPU-heavy work: at most `maxConcurrent` transformations run, at most `maxQueue` wait,
 * and beyond that a request is refused at once with 503 OVERLOADED rather than piling up
 * memory and latency (SPEC §3). Both bounds can change at run time.
 *
 * p-limit's linked-list queue drops each task as it starts. (p-queue keeps started tasks in its
 * array until a compaction, and under steady load that held ~100 originals of several MB alive.)
 */
export interface TransformLimiter {
  /** Throws OVERLOADED now if a new task could not even wait; lets callers refuse before fetching. */
  checkCapacity: () => void
  run: <T>(task: () => Promise<T>) => Promise<T>
  /** Transformations waiting for a slot. */
  readonly queued: number
  readonly running: number
  configure: (settings: LimiterSettings) => void
}

export function createTransformLimiter (initial: LimiterSettings): TransformLimiter {
  const limit = pLimit(initial.maxConcurrent)
  let maxQueue = initial.maxQueue

  function checkCapacity (): void {
    if (limit.activeCount >= limit.concurrency && limit.pendingCount >= maxQueue) {
      throw new DeliveryError('OVERLOADED', undefined, { retryAfterSeconds: 1 })
    }
  }

  return {
    checkCapacity,
    async run (task) {
      checkCapacity()
      return await limit(task)
    },
    get queued () { return limit.pendingCount },
    get running () { return limit.activeCount },
    configure (settings) {
      limit.concurrency = settings.maxConcurrent
      maxQueue = settings.maxQueue
    }
  }
}
