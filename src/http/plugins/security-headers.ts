import type { FastifyInstance, FastifyReply } from 'fastify'

/**
 * `X-Content-Type-Options: nosniff` on every response: an error body or an image must
 * never be sniffed into something a browser would run. Set on the raw response so that streams
 * written with `writeHead` (the Hystrix stream) carry it as well.
 */
export function registerSecurityHeaders (app: FastifyInstance): void {
  app.addHook('onRequest', async (_request, reply) => { setSecurityHeaders(reply) })
}

/** For answers sent before any hook runs (Fastify's framework errors, e.g. a malformed URL). */
export function setSecurityHeaders (reply: FastifyReply): void {
  reply.raw.setHeader('x-content-type-options', 'nosniff')
}
