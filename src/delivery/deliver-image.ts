import { DeliveryError } from '../errors.ts'
import type { BucketRef, CallContext, LogicProvider } from '../logic/bucket-logic.ts'
import type { Metrics } from '../observability/metrics.ts'
import { withSpan } from '../observability/tracer.ts'
import { originKey, readSource, type OriginRequest, type Source, type SourceVersion } from '../origins/origin.ts'
import type { VersionedOrigin } from '../origins/versioned-origin.ts'
import type { CachedImage, ImageCache } from '../cache/image-cache.ts'
import { createSingleFlight } from '../resilience/single-flight.ts'
import { NO_PURGES, type PurgeState } from '../purge/purge-state.ts'
import { acceptClass } from '../transform/negotiate-format.ts'
import { passthroughType, type TransformJob, type TransformSettings, type TransformedImage } from '../transform/transform-image.ts'
import { isEmptyTransformation } from '../transform/transformation.ts'
import { watermarkOf, type Watermark, type WatermarkPlacement } from '../transform/watermark.ts'
import { cacheKey, passthroughKey } from './cache-key.ts'
import type { ImageQuery } from './image-query.ts'
import { resolveTransformation } from './resolve-transformation.ts'
import { missingWatermark, watermarkNeed, type WatermarkNeed } from './watermark-policy.ts'
import { signedPayload, verifySignature } from './signature.ts'

/** The settings a delivery reads; a function so that dynamic changes apply to the next request. */
export interface DeliverySettings extends TransformSettings {
  maxSourceBytes: number
  cacheControlDefault: string
  /** Global watermark kill switch (WATERMARK_ENABLED). */
  watermarkEnabled: boolean
  signingKeys: Readonly<Record<string, string | readonly string[]>>
}

export interface DeliveryDeps {
  origin: VersionedOrigin
  logic: LogicProvider
  cache: ImageCache
  /** `transform/`'s entry point: admission, probe, plan and pipeline. */
  transform: (job: TransformJob) => Promise<TransformedImage>
  /** The delivery path's metrics: cache and origin fetch. */
  metrics: Pick<Metrics, 'cacheHit' | 'cacheMiss' | 'cacheStale' | 'originFetch'>
  settings: () => DeliverySettings
  purges?: PurgeState
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
  /** Aborted when the client leaves: its queued work is dropped. */
  signal?: AbortSignal
  /** Told the tenant and its metric tag as soon as the logic is known, so errors after that carry them too. */
  onTenant?: (tenant: string, tenantTag: string) => void
}

export type CacheStatus = 'HIT' | 'MISS' | 'STALE'

interface Answer {
  etag: string
  lastModified: Date
  cacheControl: string
  varyAccept: boolean
  cacheStatus: CacheStatus
  /** The `tenant` metric tag: the tenant, or `unknown` when the logic source does not name it. */
  tenant: string
  /** Time spent transforming, when this request did transform (a cache miss). */
  transformMs: number | null
  /** The image's purge tags (`Cache-Tag`, `Surrogate-Key`). */
  tags: string
}

/**
 * What a request gets: the image, or `not-modified` when If-None-Match matched (a 304: nothing was
 * fetched or transformed). The headers are the same either way.
 */
export type DeliveredImage = Answer & ({ outcome: 'image', image: CachedImage } | { outcome: 'not-modified' })

/**
 * The story of an image request: resolve the alias and the bucket's logic,
 * decide the transformation, learn the original's version (from memory while trusted), then
 * answer from the cache, or read and transform the original. Concurrent requests for one output
 * share one lookup and one transformation, which goes on while any of them still waits.
 */
export function createImageDelivery (deps: DeliveryDeps): (request: ImageRequest) => Promise<DeliveredImage> {
  const outputs = createSingleFlight<Found>()
  const purges = deps.purges ?? NO_PURGES

  return async function deliverImage (request) {
    const context: CallContext = { requestId: request.requestId, ...(request.signal === undefined ? {} : { signal: request.signal }) }
    const settings = deps.settings()
    const bucket = await resolveBucket(deps.logic, request.target, context)
    const logic = await withSpan('logic.get', { tenant: bucket.tenant }, async () => await deps.logic.getBucketLogic(bucket, context))
    if (logic === null) throw new DeliveryError('BUCKET_NOT_FOUND')
    // A catch-all bucket has logic for any tenant; only tenants the source names become tag values.
    const tenant = deps.logic.isKnownTenant(bucket.tenant) ? bucket.tenant : UNKNOWN_TENANT
    request.onTenant?.(bucket.tenant, tenant)
    const resolved = resolveTransformation(request.query, logic, () => isSignatureValid(request, bucket, settings))
    const { watermark: _asked, ...transformation } = resolved
    const need = watermarkNeed(resolved, request.query, logic, settings.watermarkEnabled)
    const watermark = need.wanted ? await loadWatermark(deps.logic, bucket, context, need) : null

    // After the policy, so a takedown tells nothing to whom may not see the image anyway.
    if (purges.isTakenDown(bucket, request.imageId)) throw new DeliveryError('IMAGE_TAKEN_DOWN')
    const generation = purges.generation(bucket, request.imageId)
    const tags = purgeTags(bucket, request.imageId)

    const key = originKey(bucket, request.imageId)
    const originRequest: OriginRequest = { maxBytes: settings.maxSourceBytes, requestId: request.requestId, ...(request.signal === undefined ? {} : { signal: request.signal }) }
    const known = await deps.origin.version(key, originRequest)
    const { version } = known
    // What was not transformed now is a HIT, or STALE while the origin fails.
    const fromCache: CacheStatus = known.failure === null ? 'HIT' : 'STALE'
    const answer = (etag: string, varyAccept: boolean, lastModified: Date, cacheStatus: CacheStatus, transformMs: number | null): Answer => ({
      etag,
      lastModified,
      cacheControl: logic.cacheControl ?? settings.cacheControlDefault,
      varyAccept,
      cacheStatus,
      tenant,
      transformMs,
      tags
    })
    const notModified = (etag: string, varyAccept: boolean): DeliveredImage =>
      ({ ...answer(etag, varyAccept, version.lastModified, fromCache, null), outcome: 'not-modified' })
    const delivered = (etag: string, varyAccept: boolean, image: CachedImage, cacheStatus: CacheStatus, transformMs: number | null = null): DeliveredImage =>
      ({ ...answer(etag, varyAccept, image.lastModified, cacheStatus, transformMs), outcome: 'image', image })
    const readOriginal = async (signal: AbortSignal | undefined): Promise<Source> => {
      // The origin is failing: only what needs no original can be served.
      if (known.failure !== null) throw known.failure
      return await fetchOriginal(deps, key, version, { ...originRequest, ...(signal === undefined ? {} : { signal }) }, tenant)
    }

    const passthrough = isEmptyTransformation(transformation) && watermark === null
    // `fm=json` describes what this URL delivers without it, passthrough included.
    const info = request.query.info
    if (passthrough && !info) {
      const etag = `"${passthroughKey(key, version, generation)}"`
      if (matchesEtag(request.ifNoneMatch, etag)) return notModified(etag, false)
      const source = await readOriginal(request.signal)
      const original = { bytes: await readSource(source), contentType: await passthroughType(source, settings.maxSourcePixels), lastModified: source.version.lastModified }
      return delivered(etag, false, original, 'MISS')
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
      watermark: watermark === null ? null : [watermark.image.id, watermark.placement],
      info,
      generation
    })
    const etag = `"${imageKey}"`
    if (matchesEtag(request.ifNoneMatch, etag)) return notModified(etag, varyAccept)

    return await withSpan('image.transformation', { tenant: bucket.tenant }, async (span) => {
      let led = false
      // The cache lookup is shared too: a shared tier answers in milliseconds, time enough for a duplicate transformation.
      const found = await outputs.run(imageKey, async (signal) => {
        led = true
        return await findOrTransform(deps, imageKey, {
          readOriginal, transformation, accepts, watermark, tenant, settings, signal, ...(info ? { info: { passthrough } } : {})
        })
      }, request.signal)
      // Only the request that transformed reports a miss; the ones that joined it waited, but did not transform.
      const hit = !led || found.transformMs === null
      span.setTag('cache.hit', hit)
      const format = formatOf(found.image.contentType)
      if (!hit) deps.metrics.cacheMiss({ tenant })
      else if (known.failure !== null) deps.metrics.cacheStale({ tenant, format })
      else deps.metrics.cacheHit({ tenant, format })
      return delivered(etag, varyAccept, found.image, hit ? fromCache : 'MISS', hit ? null : found.transformMs)
    })
  }
}

/** The `tenant` tag of requests whose tenant the logic source does not name. */
export const UNKNOWN_TENANT = 'unknown'

interface Found {
  image: CachedImage
  /** Null when the image came from the cache. */
  transformMs: number | null
}

async function findOrTransform (deps: DeliveryDeps, imageKey: string, job: TransformJob): Promise<Found> {
  const cached = await deps.cache.get(imageKey)
  if (cached !== undefined) return { image: cached, transformMs: null }
  const { durationMs, firstFrameOnly, ...image } = await deps.transform(job)
  const entry: CachedImage = firstFrameOnly ? { ...image, firstFrameOnly } : image
  deps.cache.set(imageKey, entry)
  return { image: entry, transformMs: durationMs }
}

async function resolveBucket (logic: LogicProvider, target: ImageTarget, context: CallContext): Promise<BucketRef> {
  if ('bucket' in target) return target.bucket
  const bucket = await withSpan('alias.resolve', { alias: target.alias }, async () => await logic.resolveAlias(target.alias, context))
  if (bucket === null) throw new DeliveryError('ALIAS_NOT_FOUND', `Alias '${target.alias}' does not exist`)
  return bucket
}

interface BucketWatermark {
  image: Watermark
  placement: WatermarkPlacement
}

async function loadWatermark (
  logic: LogicProvider,
  bucket: BucketRef,
  context: CallContext,
  need: Extract<WatermarkNeed, { wanted: true }>
): Promise<BucketWatermark> {
  const png = await withSpan('logic.watermark', { tenant: bucket.tenant }, async () => await logic.getWatermark(bucket, context))
  if (png === null) throw missingWatermark(need.whenMissing, bucket)
  return { image: watermarkOf(png), placement: need.placement }
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

/** The origin read of a cache miss or a passthrough: a span and the `origin.*` metrics. */
async function fetchOriginal (deps: DeliveryDeps, key: string, version: SourceVersion, request: OriginRequest, tenant: string): Promise<Source> {
  return await withSpan('origin.fetch', { 'origin.key': key }, async (span) => {
    const started = performance.now()
    const source = await deps.origin.get(key, version, request)
    span.setTag('origin.bytes', source.size)
    deps.metrics.originFetch({ durationMs: performance.now() - started, bytes: source.size, tenant })
    return source
  })
}

/**
 * `t:<tenant> b:<t>/<d>/<b> i:<t>/<d>/<b>/<imageId>`: a CDN purges by image or bucket.
 * Each part is percent-encoded (the separators stay), so a tag is one header-safe token.
 */
export function purgeTags (bucket: BucketRef, imageId: string): string {
  const scope = [bucket.tenant, bucket.domain, bucket.bucket].map(encodeURIComponent).join('/')
  const image = imageId.split('/').map(encodeURIComponent).join('/')
  return `t:${encodeURIComponent(bucket.tenant)} b:${scope} i:${scope}/${image}`
}

/** `image/webp` → `webp`, `application/json` (an info document) → `json`: the `format` tag. */
function formatOf (contentType: string): string {
  return contentType.replace(/^(image|application)\//, '')
}
