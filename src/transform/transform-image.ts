import { DeliveryError, isDeliveryError } from '../errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Source } from '../origins/origin.ts'
import type { Slot, TransformLimiter } from './limiter.ts'
import type { AcceptClass } from './negotiate-format.ts'
import { planTransform, type Plan, type PlanSettings } from './plan.ts'
import { runPipeline } from './pipeline.ts'
import { describeImage, INFO_CONTENT_TYPE } from './info-document.ts'
import { probeSource, type SourceInfo } from './probe.ts'
import type { Transformation } from './transformation.ts'
import type { Watermark, WatermarkPlacement } from './watermark.ts'

/** What `transform/` needs from its caller, fixed for the life of the app. */
export interface TransformerDeps {
  limiter: TransformLimiter
  /** `transform.*` and `request.transformation.duration` metrics. */
  metrics: Pick<Metrics, 'queueDepth' | 'transformation' | 'transformRejected'>
}

export interface TransformSettings extends PlanSettings {
  transformTimeoutMs: number
}

/** One transformation to make. */
export interface TransformJob {
  /** Reads the original; called once a slot is granted, never before. */
  readOriginal: (signal: AbortSignal | undefined) => Promise<Source>
  transformation: Transformation
  accepts: AcceptClass
  watermark: { image: Watermark, placement: WatermarkPlacement } | null
  /** The `tenant` metric tag, and whose share of the limiter this job counts against. */
  tenant: string
  settings: TransformSettings
  /** Aborted when every client waiting for this job has left. */
  signal?: AbortSignal | undefined
  /**
   * `fm=json`: the info document of the image this job would make, instead of the image;
   * `passthrough` when the URL delivers the original unchanged.
   */
  info?: { passthrough: boolean } | undefined
}

export interface TransformedImage {
  bytes: Buffer
  contentType: string
  lastModified: Date
  /** An animated source delivered as its first frame. */
  firstFrameOnly: boolean
  durationMs: number
}

/**
 * The single entry point of `transform/`: admission, original, probe, plan, pipeline, and their
 * metrics. A job whose clients all left while it waited is dropped before its original is read;
 * one whose clients left while libvips runs gives its slot back as an orphan.
 */
export function createTransformer (deps: TransformerDeps): (job: TransformJob) => Promise<TransformedImage> {
  const { limiter, metrics } = deps

  return async function transformImage (job) {
    const { settings, signal, tenant } = job
    let slot: Slot
    try {
      const ticket = limiter.enter({ tenant, signal })
      metrics.queueDepth(limiter.queued)
      slot = await ticket.slot()
    } catch (error) {
      if (isDeliveryError(error) && error.code === 'OVERLOADED') metrics.transformRejected({ tenant })
      throw error
    } finally {
      metrics.queueDepth(limiter.queued)
    }

    let source: Source
    let probed: SourceInfo
    let plan: Plan
    try {
      // Read only with a slot: a client that left while queued costs no origin read, and no more
      // originals are in memory than transformations run.
      source = await job.readOriginal(signal)
      probed = await probeSource(source.input, settings.maxSourcePixels)
      // A passthrough is not rendered: like the image it describes, only the source pixel limit applies.
      const planSettings = job.info?.passthrough === true ? { ...settings, maxOutputDimension: Infinity, maxOutputPixels: Infinity } : settings
      plan = planTransform(job.transformation, probed, job.accepts, planSettings, job.watermark?.placement ?? null)
      // Everyone may have left during the read or the probe: then nothing is transformed at all.
      signal?.throwIfAborted()
    } catch (error) {
      slot.done()
      throw error
    }

    const started = performance.now()
    const limits = { maxPixels: settings.maxSourcePixels, timeoutMs: settings.transformTimeoutMs }
    const info = job.info
    const work = info === undefined
      ? runPipeline(source.input, plan, { ...limits, watermark: job.watermark?.image ?? null }).then((output) => output.bytes)
      : describeImage({ input: source.input, source: probed, sourceBytes: source.size, plan, passthrough: info.passthrough }, limits)
    // libvips cannot always be stopped: the slot is held until it really ends, unless everyone left.
    const orphan = (): void => { slot.orphan() }
    signal?.addEventListener('abort', orphan, { once: true })
    void work.then(() => {
      slot.done({ work: info === undefined ? workUnits(plan.output, plan.frames, source.size) : workUnits(PREVIEW_WORK, 1, source.size) })
    }, () => { slot.done() }).finally(() => { signal?.removeEventListener('abort', orphan) })

    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        orphan()
        reject(new DeliveryError('TRANSFORM_TIMEOUT'))
      }, settings.transformTimeoutMs)
    })
    try {
      const bytes = await Promise.race([work, deadline])
      const durationMs = performance.now() - started
      metrics.transformation({ durationMs, tenant, format: info === undefined ? plan.format : INFO_FORMAT_TAG })
      return {
        bytes,
        contentType: info === undefined ? plan.contentType : INFO_CONTENT_TYPE,
        lastModified: source.version.lastModified,
        firstFrameOnly: info === undefined && plan.firstFrameOnly,
        durationMs
      }
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The `format` tag of an info document's computation. */
const INFO_FORMAT_TAG = 'json'
/** An info document renders at most a 100 px preview of one frame. */
const PREVIEW_WORK = { width: 100, height: 100 }

/**
 * How much work a transformation is, for the adaptive limit: output megapixels (encoding) plus
 * a share of the original's bytes (decoding dominates for large originals).
 */
function workUnits (output: { width: number, height: number }, frames: number, sourceBytes: number): number {
  return (output.width * output.height * frames) / 1e6 + sourceBytes / 1e6
}

/**
 * The content type of an original delivered untouched, from its header; the pixel limit applies to
 * it too (clients decode what we send).
 */
export async function passthroughType (source: Source, maxSourcePixels: number): Promise<string> {
  const info = await probeSource(source.input, maxSourcePixels)
  return `image/${info.isAvif ? 'avif' : info.format}`
}
