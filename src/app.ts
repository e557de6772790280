import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { AppConfig } from './config/schema.ts'
import { createImageDelivery, type DeliverySettings } from './delivery/deliver-image.ts'
import type { Origin } from './origins/origin.ts'
import type { LogicProvider } from './logic/bucket-logic.ts'
import { createFileLogic } from './logic/file-logic.ts'
import type { ImageCache } from './cache/image-cache.ts'
import { createBreakers, type Breakers } from './resilience/breakers.ts'
import { createCache, createOrigin, type FlushableCache } from './wiring.ts'
import { DeliveryError } from './errors.ts'
import { createTransformLimiter } from './transform/limiter.ts'
import { requestIdOf } from './http/plugins/request-id.ts'
import { registerAccessLog } from './http/plugins/access-log.ts'
import { frameworkErrorHandler, registerErrorHandler } from './http/plugins/error-handler.ts'
import { registerHealthRoute } from './http/routes/health.ts'
import { registerImageRoutes } from './http/routes/images.ts'
import { schemaRoutes } from './http/routes/schemas.ts'

export interface AppOptions {
  config: AppConfig
  logger: Logger
  /** Replace a part (tests, or a later S3/remote wiring); defaults follow the config. */
  origin?: Origin
  logic?: LogicProvider
  cache?: FlushableCache
  breakers?: Breakers
}

export interface App {
  server: FastifyInstance
  /** Flips readiness off: health answers 503 from now on (SPEC §9). */
  markShuttingDown: () => void
  /** Closes the listener: new requests get 503 SHUTTING_DOWN, in-flight ones finish. */
  close: () => Promise<void>
  breakers: Breakers
  cache: ImageCache
  /** Waits for background work (shared-cache uploads) to finish. */
  flush: () => Promise<void>
}

/** Builds the service as a value; it never listens (main.ts does, tests inject). */
export function buildApp (options: AppOptions): App {
  const { config } = options
  const server = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // The access log writes one line per request itself (SPEC §8), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: requestIdOf,
    routerOptions: { maxParamLength: 1024 },
    // Requests that arrive while closing get SHUTTING_DOWN in the SPEC §3 shape (hook below).
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler
  })

  const limiter = createTransformLimiter({
    maxConcurrent: config.limits.maxConcurrentTransforms,
    maxQueue: config.limits.maxQueue
  })
  const settings = (): DeliverySettings => ({
    maxSourceBytes: config.limits.maxSourceBytes,
    maxSourcePixels: config.limits.maxSourcePixels,
    maxOutputDimension: config.limits.maxOutputDimension,
    transformTimeoutMs: config.limits.transformTimeoutMs,
    quality: config.quality,
    avifEnabled: config.avifEnabled,
    cacheControlDefault: config.cacheControlDefault,
    watermarkEnabled: config.watermarkEnabled,
    signingKeys: config.signingKeys
  })
  const breakers = options.breakers ?? createBreakers(config.breakers)
  const cache = options.cache ?? createCache(config, options.logger)
  const deliverImage = createImageDelivery({
    origin: options.origin ?? createOrigin(config, breakers.origin),
    logic: options.logic ?? createFileLogic(config.logic.file),
    cache,
    limiter,
    settings
  })

  let ready = true
  let closing = false
  server.addHook('onRequest', async () => {
    if (closing) throw new DeliveryError('SHUTTING_DOWN')
  })
  registerAccessLog(server)
  registerErrorHandler(server, { notFoundMaxAgeSeconds: () => config.notFoundMaxAgeS })
  registerHealthRoute(server, { isReady: () => ready, startedAt: new Date() })
  registerImageRoutes(server, { deliverImage, maxOutputDimension: () => config.limits.maxOutputDimension })
  void server.register(schemaRoutes)

  return {
    server,
    markShuttingDown: () => { ready = false },
    close: async () => {
      ready = false
      closing = true
      await server.close()
    },
    breakers,
    cache,
    flush: async () => { await cache.flush?.() }
  }
}
