import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Metrics } from '../../observability/metrics.ts'
import { tagActiveSpan } from '../../observability/tracer.ts'

/** Requests that matched no route share one tag value, so junk URLs cannot explode tag cardinality. */
export const UNMATCHED_ROUTE = 'unmatched'

const IMAGE_TYPE = /^image\/([a-z0-9.+-]+)/i

/**
 * Request-level observability: `request.count` and `request.duration` tagged with
 * route, status, tenant and format when a request completes; the same tags on the request's
 * span; and a debug line telling whether the transformed image came from the cache.
 * Relies on `request.delivery`, decorated by the access log and filled by the image route.
 */
export function registerMetrics (app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
    const tenant = request.delivery?.tenantTag
    tagActiveSpan({
      'http.route': routeOf(request),
      'http.status_code': reply.statusCode,
      ...(tenant === null || tenant === undefined ? {} : { tenant })
    })
  })

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const delivery = request.delivery
    metrics.requestCompleted({
      route: routeOf(request),
      status: reply.statusCode,
      tenant: delivery?.tenantTag,
      format: formatOf(reply),
      durationMs: reply.elapsedTime
    })
    if (delivery !== null && delivery !== undefined && delivery.cacheHit !== null) {
      const transformMs = 'transformMs' in delivery ? delivery.transformMs : undefined
      request.log.debug({ cacheHit: delivery.cacheHit, transformMs: transformMs ?? null, tenant: delivery.tenant },
        delivery.cacheHit ? 'transformation cache hit' : 'transformation cache miss')
    }
  })
}

function routeOf (request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED_ROUTE
}

/** `image/webp` → `webp`; error bodies (JSON) and 304s have no image format. */
function formatOf (reply: FastifyReply): string | null {
  const contentType = reply.getHeader('content-type')
  if (typeof contentType !== 'string') return null
  return IMAGE_TYPE.exec(contentType)?.[1]?.toLowerCase() ?? null
}
