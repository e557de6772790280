/**
 * The adaptive transform limit of `LIMITS_MAX_CONCURRENT_TRANSFORMS=auto` (SPEC §10.2): a gradient
 * limit in the manner of Netflix's concurrency-limits, on the measured time per unit of work (ms
 * per source megapixel, so a mix of large and small originals reads as one signal).
 *
 * While transformations queue, each window of samples compares the recent time per unit with the
 * baseline (the lowest seen): within `TOLERANCE` of it, one more slot (running more still adds
 * throughput); beyond, the limit shrinks by the same ratio (`limit × baseline / recent`, at most
 * halved): running more only made each transformation slower, the CPUs are full. The limit settles
 * where one more transformation would cost more latency than it adds throughput. Without queueing
 * there is no evidence either way and the limit stays.
 * The baseline is the lowest time per unit seen since the controller started; setting the property
 * to a number and back to `auto` (admin port, dynamic source) starts a new one.
 */
export interface ConcurrencyController {
  readonly limit: number
  /** One finished transformation: its time per unit of work, and whether work was waiting. */
  sample: (msPerUnit: number, saturated: boolean) => void
}

export interface ControllerOptions {
  min: number
  max: number
  initial: number
}

/** Weight of a new sample in the recent average. */
const SMOOTHING = 0.2
/** Recent latency up to this multiple of the baseline still counts as "not growing". */
const TOLERANCE = 1.25
/** Below this many samples a window says too little. */
const MIN_WINDOW = 8

export function createConcurrencyController (options: ControllerOptions): ConcurrencyController {
  let limit = options.initial
  let recent: number | null = null
  let baseline = Number.POSITIVE_INFINITY
  let samples = 0
  let saturatedSamples = 0

  return {
    get limit () { return limit },
    sample (msPerUnit, saturated) {
      if (!(msPerUnit > 0) || !Number.isFinite(msPerUnit)) return
      recent = recent === null ? msPerUnit : recent + SMOOTHING * (msPerUnit - recent)
      baseline = Math.min(baseline, recent)
      samples++
      if (saturated) saturatedSamples++
      if (samples < Math.max(MIN_WINDOW, limit)) return
      const wasSaturated = saturatedSamples * 2 >= samples
      samples = 0
      saturatedSamples = 0
      if (wasSaturated) {
        const gradient = baseline / recent
        const next = gradient * TOLERANCE >= 1 ? limit + 1 : Math.floor(limit * Math.max(0.5, gradient))
        limit = Math.min(options.max, Math.max(options.min, next))
      }
    }
  }
}
