import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * What the image route learnt, for the access log and metrics: the tenant the path names (for
     * logs), and the `tenant` metric tag, which is `unknown` unless the logic source names it.
     */
    delivery: { tenant: string | null, tenantTag: string, cacheHit: boolean | null, transformMs?: number | null } | null
  }
}

/** One JSON line per completed request, written when it ends, not when it starts. */
export function registerAccessLog (app: FastifyInstance): void {
  app.decorateRequest('delivery', null)
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    request.log.info({
      method: request.method,
      path: request.url.split('?', 1)[0],
      route: request.routeOptions.url ?? null,
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      cacheHit: request.delivery?.cacheHit ?? null,
      tenant: request.delivery?.tenant ?? null
    }, 'request completed')
  })
}
