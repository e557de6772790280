import { createHash, timingSafeEqual } from 'node:crypto'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { ADMIN_ERROR_DEFINITIONS, type AdminErrorCode } from '../../errors.ts'
import type { AppConfig } from '../../config/schema.ts'
import { breakerVariables, type DynamicConfig } from '../../config/dynamic.ts'
import { envSecrets, type Secrets } from '../../config/secrets.ts'
import type { Breakers } from '../../resilience/breakers.ts'
import { windowStats } from '../../resilience/opossum-internals.ts'
import type { LimiterState } from '../../transform/limiter.ts'
import type { PurgeService } from '../../purge/purge-service.ts'
import { registerSecurityHeaders } from '../plugins/security-headers.ts'

export interface AdminServerOptions {
  config: AppConfig
  dynamic: DynamicConfig
  breakers: Breakers
  logger: Logger
  /** The transform limiter: its (adaptive) limit and occupancy. */
  limiter?: () => LimiterState
  /** ADMIN_TOKEN, read at each call so a rotated token applies at once; the static configuration's when absent. */
  secrets?: Pick<Secrets, 'adminToken'>
  /** `POST /admin/purge`; a 404 when absent. */
  purge?: Pick<PurgeService, 'purge'>
}

const INDEX_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>delivery-images admin</title></head>
<body>
<h1>delivery-images admin</h1>
<ul>
<li><a href="/admin/config">/admin/config</a>: effective configuration, each value with its source</li>
<li><a href="/admin/breakers">/admin/breakers</a>: circuit breakers, state, settings and counters</li>
<li><a href="/admin/limiter">/admin/limiter</a>: the transform limit (adaptive or fixed), running, orphaned and waiting transformations, and the places each tenant holds</li>
<li><code>PUT /admin/config/:key</code> with <code>{"value": …}</code> and <code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</code>:
change a dynamic property on this instance (<code>null</code> removes the override)</li>
<li><code>POST /admin/purge</code> with <code>{"tenant", "domain", "bucket", "imageId"?, "takedown"?}</code> and the same token:
purge an image or a bucket on every instance and at the CDN; <code>"takedown": true</code> answers 451 until <code>false</code></li>
</ul>
</body>
</html>
`

/**
 * The Karyon-style admin listener: a Fastify instance of its own, bound by the caller to
 * ADMIN_HOST:ADMIN_PORT, so that operations endpoints never share the public port the CDN reaches.
 * Reads are open to whoever can reach the port (loopback by default); writes need ADMIN_TOKEN, and
 * without one the port is read-only.
 */
export function buildAdminServer (options: AdminServerOptions): FastifyInstance {
  const { dynamic, breakers } = options
  const logger = options.logger.child({ component: 'admin' })
  const secrets = options.secrets ?? envSecrets(options.config)
  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Operators only, but a browser may open it: the same cut-offs and headers as the public port.
    requestTimeout: options.config.server.requestTimeoutMs,
    bodyLimit: 64 * 1024
  })
  registerSecurityHeaders(server)

  server.setErrorHandler((error: { statusCode?: number, message: string }, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) request.log.error({ err: error }, 'admin request failed')
    // Fastify's own client errors (415, 413, …) keep their status under INVALID_REQUEST.
    return status < 500 ? send(reply, 'INVALID_REQUEST', error.message, status) : send(reply, 'INTERNAL_ERROR', 'Internal error')
  })
  server.setNotFoundHandler((request, reply) => send(reply, 'NOT_FOUND', `${request.method} ${request.url} is not an admin route`))

  server.get('/admin', async (_request, reply) => await reply.type('text/html; charset=utf-8').send(INDEX_PAGE))

  server.get('/admin/config', async () => ({
    properties: Object.fromEntries(dynamic.describe().map(({ key, ...entry }) => [key, entry]))
  }))

  server.get('/admin/limiter', async (_request, reply) => {
    if (options.limiter === undefined) return await send(reply, 'NOT_FOUND', 'No transform limiter on this server')
    return options.limiter()
  })

  server.get('/admin/breakers', async () => ({
    breakers: Object.values(breakers).map((breaker) => {
      const { circuit } = breaker
      const stats = windowStats(circuit)
      const variables = breakerVariables(breaker.key)
      return {
        key: breaker.key,
        name: circuit.name,
        group: circuit.group,
        state: circuit.opened ? 'OPEN' : circuit.halfOpen ? 'HALF_OPEN' : 'CLOSED',
        settings: {
          timeoutMs: dynamic.get(variables.timeoutMs),
          errorThresholdPercent: dynamic.get(variables.errorThresholdPercent),
          maxConcurrent: dynamic.get(variables.maxConcurrent),
          resetMs: dynamic.get(variables.resetMs)
        },
        stats
      }
    })
  }))

  server.put<{ Params: { key: string }, Body: { value: unknown } }>('/admin/config/:key', {
    schema: {
      body: { type: 'object', required: ['value'], properties: { value: {} } }
    },
    // Authorisation runs before the body is even parsed: a caller without the token learns nothing.
    onRequest: async (request, reply) => { await authorize(request, reply) }
  }, async (request, reply) => {
    const { key } = request.params
    const result = dynamic.set(key, request.body.value, 'admin')
    if (!result.ok) {
      if (result.unknownKey === true) return await send(reply, 'UNKNOWN_PROPERTY', `${key} is not a configuration property`)
      if (!dynamic.isDynamic(key)) return await send(reply, 'NOT_DYNAMIC', `${key} is not a dynamic property; it changes only with a restart`)
      return await send(reply, 'INVALID_VALUE', `${key}: ${result.reason}`)
    }
    request.log.info({ key, value: result.value, previous: result.previous }, `admin set ${key}`)
    return { key, value: result.value, previous: result.previous }
  })

  server.post('/admin/purge', {
    onRequest: async (request, reply) => { await authorize(request, reply) }
  }, async (request, reply) => {
    if (options.purge === undefined) return await send(reply, 'NOT_FOUND', 'No purges on this server')
    // One shared token, so the audit names its holder as `admin`.
    const outcome = await options.purge.purge(request.body, 'admin')
    if (outcome.status !== 202) return await send(reply, outcome.code, outcome.message)
    return await reply.code(202).header('cache-control', 'no-store').send(outcome.answer)
  })

  async function authorize (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = secrets.adminToken()
    if (token === null || token === '') {
      await send(reply, 'READ_ONLY', 'The admin port is read-only: ADMIN_TOKEN is not configured')
      return
    }
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(.+)$/i.exec(header)
    if (match?.[1] === undefined || !sameSecret(match[1].trim(), token)) {
      request.log.warn({ key: (request.params as { key?: string }).key }, 'admin change refused: missing or wrong bearer token')
      await send(reply.header('www-authenticate', 'Bearer realm="delivery-images-admin"'), 'UNAUTHORIZED', 'A valid bearer token is required')
    }
  }

  return server
}

/** Digests have equal lengths, so the comparison takes the same time whatever the guess. */
function sameSecret (given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

async function send (reply: FastifyReply, code: AdminErrorCode, message: string, status = ADMIN_ERROR_DEFINITIONS[code].status): Promise<FastifyReply> {
  return await reply.code(status).header('cache-control', 'no-store').send({ error: { code, message } })
}
