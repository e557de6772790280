import { DeliveryError, isDeliveryError } from '../errors.ts'
import type { ImageQuery } from '../http/query.ts'
import type { BucketLogic, BucketRef, CallContext, LogicProvider } from '../logic/bucket-logic.ts'
import type { Metrics } from '../observability/metrics.ts'
import { withSpan } from '../observability/tracer.ts'
import { originKey, readSource, type Origin, type OriginRequest, type Source } from '../origins/origin.ts'
import type { CachedImage, ImageCache } from '../cache/image-cache.ts'
import type { Admission, TransformLimiter } from '../transform/limiter.ts'
import { acceptClass, type AcceptClass } from '../transform/negotiate-format.ts'
import { planTransform, type Plan, type PlanSettings } from '../transform/plan.ts'
import { probeSource } from '../transform/probe.ts'
import { runPipeline } from '../transform/pipeline.ts'
import { isEmptyTransformation, type Transformation } from '../transform/transformation.ts'
import { DEFAULT_PLACEMENT, watermarkOf, type Watermark, type WatermarkPlacement } from '../transform/watermark.ts'
import { cacheKey, passthroughKey } from './cache-key.ts'
import { resolveTransformation } from './resolve-transformation.ts'
import { signedPayload, verifySignature } from './signature.ts'

/** The settings a delivery reads; a function so that dynamic changes apply to the next request. */
export interface DeliverySettings extends PlanSettings {
  maxSourceBytes: number
  transformTimeoutMs: number
  cacheControlDefault: string
  /** Global watermark kill switch (WATERMARK_ENABLED). */
  watermarkEnabled: boolean
  signingKeys: Readonly<Record<string, string | readonly string[]>>
}

export interface DeliveryDeps {
  origin: Origin
  logic: LogicProvider
  cache: ImageCache
  limiter: TransformLimiter
  /** SPEC §8 metrics of the delivery path: cache, origin fetch, transformation, queue. */
  metrics: Metrics
  settings: () => DeliverySettings
}

export type ImageTarget = { bucket: BucketRef } | { alias: string }

export interface ImageRequest {
  target: ImageTarget
  imageId: string
  query: ImageQuery
  /** The request path without `/api/v1` and without the query (what signatures cover). */
  path: string
  accept: string
  ifNoneMatch: string | undefined
  requestId: string
  /** Told the tenant and its metric tag as soon as the logic is known, so errors after that carry them too. */
  onTenant?: (tenant: string, tenantTag: string) => void
}

export interface DeliveredImage {
  /** The image to send, or null for a 304 (If-None-Match matched: nothing fetched or transformed). */
  image: CachedImage | null
  etag: string
  lastModified: Date
  cacheControl: string
  varyAccept: boolean
  cacheStatus: 'HIT' | 'MISS'
  /** The `tenant` metric tag: the tenant, or `unknown` when the logic source does not name it (SPEC §8). */
  tenant: string
  /** Time spent transforming, when this request did transform (a cache miss). */
  transformMs: number | null
}

/**
 * The story of an image request (SPEC §2–§4): resolve the alias and the bucket's logic, decide
 * the transformation, then answer from the cache, or fetch, check and transform the original.
 * Identical concurrent misses share one transformation.
 */
export function createImageDelivery (deps: DeliveryDeps): (request: ImageRequest) => Promise<DeliveredImage> {
  const inFlight = new Map<string, Promise<Found>>()

  return async function deliverImage (request) {
    const context: CallContext = { requestId: request.requestId }
    const settings = deps.settings()
    const bucket = await resolveBucket(deps.logic, request.target, context)
    const logic = await withSpan('logic.get', { tenant: bucket.tenant }, async () => await deps.logic.getBucketLogic(bucket, context))
    if (logic === null) throw new DeliveryError('BUCKET_NOT_FOUND')
    // A catch-all bucket has logic for any tenant; only tenants the source names become tag values.
    const tenant = deps.logic.isKnownTenant(bucket.tenant) ? bucket.tenant : UNKNOWN_TENANT
    request.onTenant?.(bucket.tenant, tenant)
    const { watermark: wantsWatermark, ...transformation } =
      resolveTransformation(request.query, logic, () => isSignatureValid(request, bucket, settings))
    // Only `wm=1` asked for it (not a rule, nor the bucket): a bucket without a watermark is the client's mistake.
    const askedOnlyByQuery = request.query.isAdHoc && logic.watermark?.required !== true
    const watermark = wantsWatermark === true && settings.watermarkEnabled
      ? await loadWatermark(deps.logic, bucket, logic, context, askedOnlyByQuery)
      : null

    const key = originKey(bucket, request.imageId)
    const originRequest = { maxBytes: settings.maxSourceBytes, requestId: request.requestId }
    const version = await deps.origin.stat(key, originRequest)
    const pinned: OriginRequest = { ...originRequest, expectedVersion: version }
    const deliver = (etag: string, varyAccept: boolean, image: CachedImage | null, cacheStatus: 'HIT' | 'MISS', transformMs: number | null = null): DeliveredImage => ({
      image,
      etag,
      lastModified: image?.lastModified ?? version.lastModified,
      cacheControl: logic.cacheControl ?? settings.cacheControlDefault,
      varyAccept,
      cacheStatus,
      tenant,
      transformMs
    })

    if (isEmptyTransformation(transformation) && watermark === null) {
      const etag = `"${passthroughKey(key, version)}"`
      if (matchesEtag(request.ifNoneMatch, etag)) return deliver(etag, false, null, 'HIT')
      const source = await fetchOriginal(deps, key, pinned, tenant)
      // Passthrough obeys the pixel limit too (SPEC §3): clients decode what we send.
      const info = await probeSource(source.input, settings.maxSourcePixels)
      const original = { bytes: await readSource(source), contentType: `image/${info.isAvif ? 'avif' : info.format}`, lastModified: source.version.lastModified }
      return deliver(etag, false, original, 'MISS')
    }

    const varyAccept = transformation.format === 'auto'
    const accepts = acceptClass(request.accept, settings.avifEnabled)
    const imageKey = cacheKey({
      originKey: key,
      version,
      transformation,
      accepts: varyAccept ? accepts : null,
      quality: settings.quality,
      settings: outputSettings(settings),
      watermark: watermark === null ? null : [watermark.image.id, watermark.placement]
    })
    const etag = `"${imageKey}"`
    if (matchesEtag(request.ifNoneMatch, etag)) return deliver(etag, varyAccept, null, 'HIT')

    return await withSpan('image.transformation', { tenant: bucket.tenant }, async (span) => {
      // A lookup or transformation already under way for the same key is shared (the cache lookup
      // too: a shared tier answers in milliseconds, time enough for a duplicate transformation).
      let lookup = inFlight.get(imageKey)
      const leader = lookup === undefined
      if (lookup === undefined) {
        const job = { key, originRequest: pinned, transformation, accepts, settings, watermark, tenant }
        lookup = findOrTransform(deps, imageKey, job)
        inFlight.set(imageKey, lookup)
      }
      let found: Found
      try {
        found = await lookup
      } finally {
        if (leader) inFlight.delete(imageKey)
      }
      // Only the request that transformed reports a miss; the ones that joined it waited, but did not transform.
      const hit = !leader || found.transformMs === null
      span.setTag('cache.hit', hit)
      if (hit) deps.metrics.cacheHit({ tenant, format: formatOf(found.image.contentType) })
      else deps.metrics.cacheMiss({ tenant })
      return deliver(etag, varyAccept, found.image, hit ? 'HIT' : 'MISS', hit ? null : found.transformMs)
    })
  }
}

/** The `tenant` tag of requests whose tenant the logic source does not name (SPEC §8). */
export const UNKNOWN_TENANT = 'unknown'

interface Found {
  image: CachedImage
  /** Null when the image came from the cache. */
  transformMs: number | null
}

async function findOrTransform (deps: DeliveryDeps, imageKey: string, job: TransformJob): Promise<Found> {
  const cached = await deps.cache.get(imageKey)
  if (cached !== undefined) return { image: cached, transformMs: null }
  const started = performance.now()
  const image = await transform(deps, job)
  deps.cache.set(imageKey, image)
  return { image, transformMs: performance.now() - started }
}

async function resolveBucket (logic: LogicProvider, target: ImageTarget, context: CallContext): Promise<BucketRef> {
  if ('bucket' in target) return target.bucket
  const bucket = await withSpan('alias.resolve', { alias: target.alias }, async () => await logic.resolveAlias(target.alias, context))
  if (bucket === null) throw new DeliveryError('ALIAS_NOT_FOUND', `Alias '${target.alias}' does not exist`)
  return bucket
}

interface TransformJob {
  key: string
  originRequest: OriginRequest
  transformation: Transformation
  accepts: AcceptClass
  settings: DeliverySettings
  watermark: BucketWatermark | null
  /** The metric tag. */
  tenant: string
}

/** Fetch, check, plan and transform: the expensive path of a cache miss. */
async function transform (deps: DeliveryDeps, job: TransformJob): Promise<CachedImage> {
  const { settings } = job
  // A place is taken before fetching: a full queue must not also fill memory with originals.
  const admission = admit(deps, job.tenant)
  let source: Source
  let plan: Plan
  try {
    source = await fetchOriginal(deps, job.key, job.originRequest, job.tenant)
    const info = await probeSource(source.input, settings.maxSourcePixels)
    plan = planTransform(job.transformation, info, job.accepts, settings, job.watermark?.placement ?? null)
  } catch (error) {
    admission.release()
    throw error
  }
  deps.metrics.queueDepth(deps.limiter.queued)
  let durationMs = 0
  const output = await admission.run(async () => {
    const started = performance.now()
    const result = await runPipeline(source.input, plan, {
      maxPixels: settings.maxSourcePixels,
      timeoutMs: settings.transformTimeoutMs,
      watermark: job.watermark?.image ?? null
    })
    durationMs = performance.now() - started
    return result
  }, settings.transformTimeoutMs)
  deps.metrics.queueDepth(deps.limiter.queued)
  deps.metrics.transformation({ durationMs, tenant: job.tenant, format: formatOf(plan.contentType) })
  return {
    bytes: output.bytes,
    contentType: plan.contentType,
    lastModified: source.version.lastModified,
    ...(plan.firstFrameOnly ? { firstFrameOnly: true } : {})
  }
}

interface BucketWatermark {
  image: Watermark
  placement: WatermarkPlacement
}

/** A bucket that asks for a watermark it does not have is an upstream fault, never a silent unwatermarked image. */
async function loadWatermark (
  logic: LogicProvider,
  bucket: BucketRef,
  bucketLogic: BucketLogic,
  context: CallContext,
  askedOnlyByQuery: boolean
): Promise<BucketWatermark> {
  const png = await withSpan('logic.watermark', { tenant: bucket.tenant }, async () => await logic.getWatermark(bucket, context))
  if (png === null && askedOnlyByQuery) throw new DeliveryError('INVALID_PARAMETER', 'Parameter \'wm\': this bucket has no watermark')
  if (png === null) {
    throw new DeliveryError('UPSTREAM_ERROR', `Bucket ${bucket.tenant}/${bucket.domain}/${bucket.bucket} asks for a watermark it does not have`)
  }
  const spec = bucketLogic.watermark ?? {}
  return {
    image: watermarkOf(png),
    placement: {
      position: spec.position ?? DEFAULT_PLACEMENT.position,
      opacity: spec.opacity ?? DEFAULT_PLACEMENT.opacity,
      widthRatio: spec.widthRatio ?? DEFAULT_PLACEMENT.widthRatio,
      margin: spec.margin ?? DEFAULT_PLACEMENT.margin
    }
  }
}

function isSignatureValid (request: ImageRequest, bucket: BucketRef, settings: DeliverySettings): boolean {
  const configured = settings.signingKeys[`${bucket.tenant}/${bucket.domain}`]
  const keys = configured === undefined ? [] : typeof configured === 'string' ? [configured] : configured
  return verifySignature(keys, signedPayload(request.path, request.query.rawPairs), request.query.signature)
}

/**
 * The settings that change output bytes; part of the cache key so a change never serves stale bytes.
 * (The pixel limit decides whether an animated source keeps its frames.)
 */
function outputSettings (settings: DeliverySettings): unknown {
  return [settings.quality, settings.avifEnabled, settings.maxOutputDimension, settings.maxSourcePixels, settings.maxOutputPixels, settings.maxAnimationFrames]
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison, and `*` matches any current image. */
export function matchesEtag (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag)
}

/** The origin read of a cache miss or a passthrough: a span and the SPEC §8 `origin.*` metrics. */
async function fetchOriginal (deps: DeliveryDeps, key: string, request: OriginRequest, tenant: string): Promise<Source> {
  return await withSpan('origin.fetch', { 'origin.key': key }, async (span) => {
    const started = performance.now()
    const source = await deps.origin.get(key, request)
    span.setTag('origin.bytes', source.size)
    deps.metrics.originFetch({ durationMs: performance.now() - started, bytes: source.size, tenant })
    return source
  })
}

/** A place in the transform queue, or OVERLOADED counted as `transform.rejected` (SPEC §8). */
function admit (deps: DeliveryDeps, tenant: string): Admission {
  try {
    return deps.limiter.admit()
  } catch (error) {
    if (isDeliveryError(error) && error.code === 'OVERLOADED') deps.metrics.transformRejected({ tenant })
    throw error
  }
}

/** `image/webp` → `webp`, the `format` tag. */
function formatOf (contentType: string): string {
  return contentType.replace(/^image\//, '')
}
