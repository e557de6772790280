import PQueue from 'p-queue'
import { DeliveryError } from '../errors.ts'

export interface LimiterSettings {
  maxConcurrent: number
  maxQueue: number
}

/**
 * Bounds CPU-heavy work: at most `maxConcurrent` transformations run, at most `maxQueue` wait,
 * and beyond that a request is refused at once with 503 OVERLOADED rather than piling up
 * memory and latency (SPEC §3). Both bounds can change at run time.
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
  const queue = new PQueue({ concurrency: initial.maxConcurrent })
  let maxQueue = initial.maxQueue

  function checkCapacity (): void {
    if (queue.pending >= queue.concurrency && queue.size >= maxQueue) {
      throw new DeliveryError('OVERLOADED', undefined, { retryAfterSeconds: 1 })
    }
  }

  return {
    checkCapacity,
    async run (task) {
      checkCapacity()
      return await queue.add(task)
    },
    get queued () { return queue.size },
    get running () { return queue.pending },
    configure (settings) {
      queue.concurrency = settings.maxConcurrent
      maxQueue = settings.maxQueue
    }
  }
}
