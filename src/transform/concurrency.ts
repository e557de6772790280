/**
 * The adaptive transform limit of `LIMITS_MAX_CONCURRENT_TRANSFORMS=auto`: the number
 * of transformations running at once that gives the machine's highest throughput, found by hill
 * climbing on measured work per second.
 *
 * Latency alone misleads here: libvips spreads one transformation over every core, so running two
 * at once doubles each one's time while still adding throughput (decode phases are single-threaded,
 * I/O leaves cores idle). So, while work queues, each window measures the work finished per second
 * (output megapixels plus source megabytes, so a mix of large and small originals reads as one
 * signal) at the current limit and compares it with the window before: going up continues only
 * for a gain of more than `MIN_GAIN`, going down continues as long as no more than that is lost.
 * The limit so settles, by one either way, at the point where one more slot stops adding
 * throughput and would only add latency.
 * Without queueing there is no evidence either way and the limit stays.
 */
export interface ConcurrencyController {
  readonly limit: number
  /**
   * One finished transformation: its units of work, whether work was waiting, and the time it
   * finished (ms, monotonic).
   */
  sample: (work: number, saturated: boolean, nowMs: number) => void
}

export interface ControllerOptions {
  min: number
  max: number
  initial: number
}

/** Throughput must grow by more than this for a move to count as better. */
const MIN_GAIN = 0.03
/** A window is at least this many completions and this long. */
const MIN_WINDOW_SAMPLES = 8
const MIN_WINDOW_MS = 500

export function createConcurrencyController (options: ControllerOptions): ConcurrencyController {
  let limit = options.initial
  let direction = 1
  let previous: number | null = null
  let windowStart: number | null = null
  let lastSample = 0
  let windowWork = 0
  let samples = 0
  let saturatedSamples = 0

  const clamp = (value: number): number => Math.min(options.max, Math.max(options.min, value))

  return {
    get limit () { return limit },
    sample (work, saturated, nowMs) {
      if (!(work > 0) || !Number.isFinite(work) || !Number.isFinite(nowMs)) return
      // The first sample, or one after an idle gap, starts a window: idle time is not lost throughput.
      if (windowStart === null || nowMs - lastSample > MIN_WINDOW_MS) {
        windowStart = nowMs
        lastSample = nowMs
        windowWork = 0
        samples = 0
        saturatedSamples = 0
        return
      }
      lastSample = nowMs
      windowWork += work
      samples++
      if (saturated) saturatedSamples++
      if (samples < Math.max(MIN_WINDOW_SAMPLES, 2 * limit) || nowMs - windowStart < MIN_WINDOW_MS) return
      const throughput = windowWork / (nowMs - windowStart)
      const wasSaturated = saturatedSamples * 2 >= samples
      windowStart = nowMs
      windowWork = 0
      samples = 0
      saturatedSamples = 0
      if (!wasSaturated) {
        previous = null
        return
      }
      if (previous !== null) {
        // Up only for a real gain; down as long as nothing real is lost: on a plateau the limit
        // drifts to its low end, where the same throughput costs the least latency and memory.
        const better = direction > 0 ? throughput > previous * (1 + MIN_GAIN) : throughput >= previous * (1 - MIN_GAIN)
        if (!better) direction = -direction
      }
      previous = throughput
      const next = clamp(limit + direction)
      // At a bound, turn back so the next window measures the other side.
      if (next === limit) direction = -direction
      limit = next
    }
  }
}
