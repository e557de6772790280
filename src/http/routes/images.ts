import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DeliveryError } from '../../errors.ts'
import { isPathPart } from '../../names.ts'
import { UNKNOWN_TENANT, type DeliveredImage, type ImageRequest, type ImageTarget } from '../../delivery/deliver-image.ts'
import { parseImageId } from '../image-id.ts'
import { parseImageQuery } from '../query.ts'

export interface ImageRouteOptions {
  deliverImage: (request: ImageRequest) => Promise<DeliveredImage>
  maxOutputDimension: () => number
  /** A client left before its answer (`request.aborted`). */
  onAborted: (tenantTag: string, route: string) => void
}

const API_PREFIX = '/api/v1'
/** `http://host` of an absolute-form request line (RFC 9112 §3.2.2), which a server must accept. */
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i
/** Path segments before the image id: ['', 'tenants', t, 'domains', d, 'buckets', b, 'images'] and ['', alias, 'images']. */
const BUCKET_ID_START = 8
const ALIAS_ID_START = 3

interface BucketParams { tenant: string, domain: string, bucket: string }
interface AliasParams { alias: string }

/** The image routes, with and without the `/api/v1` prefix; HEAD comes with GET. */
export function registerImageRoutes (app: FastifyInstance, options: ImageRouteOptions): void {
  for (const prefix of ['', API_PREFIX]) {
    // The router matches percent-decoded segments (`/%61pi/v1` is `/api/v1`), so the raw path is
    // cut by segment count, never by comparing its text with the prefix.
    const skip = prefix === '' ? 0 : API_PREFIX.split('/').length - 1
    app.get<{ Params: BucketParams }>(`${prefix}/tenants/:tenant/domains/:domain/buckets/:bucket/images/*`, async (request, reply) => {
      const { tenant, domain, bucket } = request.params
      const target = { bucket: { tenant: pathPart('tenant', tenant), domain: pathPart('domain', domain), bucket: pathPart('bucket', bucket) } }
      await serve(request, reply, target, { skip, idStart: BUCKET_ID_START }, options)
    })
    app.get<{ Params: AliasParams }>(`${prefix}/:alias/images/*`, async (request, reply) => {
      await serve(request, reply, { alias: pathPart('alias', request.params.alias) }, { skip, idStart: ALIAS_ID_START }, options)
    })
  }
}

/** The router has percent-decoded the part already, so `%2e` arrives here as `.` and is refused. */
function pathPart (name: string, value: string): string {
  if (!isPathPart(value)) {
    throw new DeliveryError('INVALID_PARAMETER', `Path parameter '${name}' must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", "-", not starting with "."`)
  }
  return value
}

async function serve (
  request: FastifyRequest,
  reply: FastifyReply,
  target: ImageTarget,
  segments: { skip: number, idStart: number },
  options: ImageRouteOptions
): Promise<void> {
  // The metric tag is `unknown` until the logic source vouches for the tenant: a URL must not mint
  // tag values. Log lines name the path's tenant from the start, errors included.
  request.delivery = { tenant: 'bucket' in target ? target.bucket.tenant : null, tenantTag: UNKNOWN_TENANT, cacheHit: null }
  const url = request.url.replace(ABSOLUTE_FORM, '')
  const queryStart = url.indexOf('?')
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart)
  const parts = rawPath.split('/')
  const path = ['', ...parts.slice(1 + segments.skip)].join('/')
  const imageId = parseImageId(path.split('/').slice(segments.idStart).join('/'))
  const query = parseImageQuery(queryStart === -1 ? '' : url.slice(queryStart + 1), {
    maxOutputDimension: options.maxOutputDimension()
  })

  // The client leaving aborts its work: a queued transformation gives its place back.
  const departure = new AbortController()
  const onClose = (): void => {
    if (reply.raw.writableFinished) return
    departure.abort(new DeliveryError('CLIENT_CLOSED_REQUEST'))
    options.onAborted(request.delivery?.tenantTag ?? UNKNOWN_TENANT, request.routeOptions.url ?? '')
  }
  reply.raw.once('close', onClose)
  const delivered = await options.deliverImage({
    target,
    imageId,
    query,
    path,
    accept: request.headers.accept ?? '',
    ifNoneMatch: request.headers['if-none-match'],
    requestId: request.id,
    signal: departure.signal,
    onTenant: (tenant, tenantTag) => { request.delivery = { tenant, tenantTag, cacheHit: null } }
  })
  request.delivery = { ...request.delivery, cacheHit: delivered.cacheStatus !== 'MISS', transformMs: delivered.transformMs }

  void reply
    .header('etag', delivered.etag)
    .header('last-modified', delivered.lastModified.toUTCString())
    .header('cache-control', delivered.cacheControl)
    .header('x-cache', delivered.cacheStatus)
    .header('cache-tag', delivered.tags)
    .header('surrogate-key', delivered.tags)
  if (delivered.varyAccept) void reply.header('vary', 'Accept')
  if (delivered.outcome === 'not-modified') {
    await reply.code(304).send()
    return
  }
  if (delivered.image.firstFrameOnly === true) void reply.header('x-animation', 'first-frame')
  await reply.type(delivered.image.contentType).send(delivered.image.bytes)
}
