import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { AppConfig } from './config/schema.ts'
import { createImageDelivery, UNKNOWN_TENANT, type DeliverySettings } from './delivery/deliver-image.ts'
import type { Origin } from './origins/origin.ts'
import { bucketKey, type LogicProvider } from './logic/bucket-logic.ts'
import type { ImageCache } from './cache/image-cache.ts'
import { createBreakers, type Breakers } from './resilience/breakers.ts'
import { createCache, createCdn, createLogic, createOrigin, type FlushableCache } from './wiring.ts'
import { createDiscovery, type Discovery } from './remote/discovery.ts'
import { hystrixStreamRoutes } from './http/routes/hystrix-stream.ts'
import { DeliveryError } from './errors.ts'
import { createTransformLimiter, type LimiterState } from './transform/limiter.ts'
import { createTransformer } from './transform/transform-image.ts'
import { createVersionedOrigin } from './origins/versioned-origin.ts'
import { originKey } from './origins/origin.ts'
import { createPurgeRegistry } from './purge/registry.ts'
import { createPurgeService, type Cdn, type PurgeService } from './purge/purge-service.ts'
import { requestIdOf } from './http/plugins/request-id.ts'
import { registerAccessLog } from './http/plugins/access-log.ts'
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandler } from './http/plugins/error-handler.ts'
import { registerSecurityHeaders } from './http/plugins/security-headers.ts'
import { registerHealthRoute } from './http/routes/health.ts'
import { registerImageRoutes } from './http/routes/images.ts'
import { schemaRoutes } from './http/routes/schemas.ts'
import { registerMetrics } from './http/plugins/metrics.ts'
import { createNoopMetrics, type Metrics } from './observability/metrics.ts'
import { bindDynamicConfig, createDynamicConfig, type DynamicConfig } from './config/dynamic.ts'
import { envSecrets, type Secrets } from './config/secrets.ts'

export interface AppOptions {
  config: AppConfig
  logger: Logger
  /** Replace a part (tests, or a later S3/remote wiring); defaults follow the config. */
  origin?: Origin
  logic?: LogicProvider
  cache?: FlushableCache
  breakers?: Breakers
  discovery?: Discovery
  /** The service's metrics; nothing is sent when absent. The caller closes it after the server. */
  metrics?: Metrics
  /** Dynamic properties; main.ts passes the one its source and admin port feed. */
  dynamic?: DynamicConfig
  /** SIGNING_KEYS and ADMIN_TOKEN, read at use time; the static configuration's when absent. */
  secrets?: Secrets
  /** The CDN purges invalidate; CDN_PROVIDER's when absent, none when null. */
  cdn?: (Cdn & { close?: () => void }) | null
}

export interface App {
  server: FastifyInstance
  /** Flips readiness off: health answers 503 from now on. */
  markShuttingDown: () => void
  /** Closes the listener: new requests get 503 SHUTTING_DOWN, in-flight ones finish. */
  close: () => Promise<void>
  breakers: Breakers
  dynamic: DynamicConfig
  cache: ImageCache
  /** Eureka registration and the locators of the remote services (inert when Eureka is off). */
  discovery: Discovery
  /** Waits for background work (shared-cache uploads) and releases connection pools. */
  flush: () => Promise<void>
  /** Transformations still running in libvips, including abandoned (timed-out) ones. */
  runningTransforms: () => number
  /** The transform limiter's current limit and occupancy (admin port). */
  limiter: () => LimiterState
  /** Purges and takedowns: the admin port's `POST /admin/purge`, fed by the dynamic source. */
  purge: PurgeService
}

/** Builds the service as a value; it never listens (main.ts does, tests inject). */
export function buildApp (options: AppOptions): App {
  const { config } = options
  const server = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // The access log writes one line per request itself, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: requestIdOf,
    routerOptions: { maxParamLength: 1024 },
    // Requests that arrive while closing get SHUTTING_DOWN in the error shape (hook below).
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // Slow or idle clients are cut off, so they cannot hold connections for free.
    requestTimeout: config.server.requestTimeoutMs,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.server.headersTimeoutMs,
      // node checks both timeouts only this often (30 s by default): check often enough to honour them.
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.server.headersTimeoutMs / 4))
    }
  })
  // Beyond the cap node closes each new connection at once; the open ones keep being served.
  server.server.maxConnections = config.server.maxConnections

  const dynamic = options.dynamic ?? createDynamicConfig({ config, logger: options.logger })
  const metrics = options.metrics ?? createNoopMetrics()
  const secrets = options.secrets ?? envSecrets(config)
  const limiter = createTransformLimiter({
    concurrency: dynamic.get('LIMITS_MAX_CONCURRENT_TRANSFORMS'),
    maxQueue: dynamic.get('LIMITS_MAX_QUEUE'),
    queueTimeoutMs: dynamic.get('LIMITS_QUEUE_TIMEOUT_MS'),
    tenantMaxShare: dynamic.get('LIMITS_TENANT_MAX_SHARE')
  })
  limiter.onLimit((limit) => { metrics.concurrencyLimit(limit) })
  // Read at use time: a change from the dynamic source applies to the next request.
  const settings = (): DeliverySettings => ({
    maxSourceBytes: dynamic.get('LIMITS_MAX_SOURCE_BYTES'),
    maxSourcePixels: dynamic.get('LIMITS_MAX_SOURCE_PIXELS'),
    maxOutputDimension: dynamic.get('LIMITS_MAX_OUTPUT_DIMENSION'),
    maxOutputPixels: dynamic.get('LIMITS_MAX_OUTPUT_PIXELS'),
    maxAnimationFrames: dynamic.get('LIMITS_MAX_ANIMATION_FRAMES'),
    transformTimeoutMs: dynamic.get('LIMITS_TRANSFORM_TIMEOUT_MS'),
    quality: { jpeg: dynamic.get('QUALITY_JPEG'), webp: dynamic.get('QUALITY_WEBP'), avif: dynamic.get('QUALITY_AVIF') },
    avifEnabled: dynamic.get('AVIF_ENABLED'),
    cacheControlDefault: dynamic.get('CACHE_CONTROL_DEFAULT'),
    watermarkEnabled: dynamic.get('WATERMARK_ENABLED'),
    signingKeys: secrets.signingKeys()
  })
  const breakers = options.breakers ?? createBreakers(config.breakers)
  for (const breaker of Object.values(breakers)) metrics.watchBreaker(breaker.key, breaker.circuit)
  // The limiter and the breakers follow changes live; main.ts binds the process logger's level.
  const unbindDynamic = bindDynamicConfig(dynamic, { limiter, breakers })
  const cache = options.cache ?? createCache(config, options.logger, (kind) => { metrics.cacheError(kind) })
  const discovery = options.discovery ?? createDiscovery({ config, logger: options.logger, port: config.port })
  const logic = options.logic ?? createLogic(config, { breakers, discovery, dynamic, logger: options.logger })
  const origin = createVersionedOrigin(options.origin ?? createOrigin(config, breakers.origin), {
    ttlMs: () => dynamic.get('ORIGIN_VERSION_TTL_MS'),
    staleIfErrorMs: () => dynamic.get('ORIGIN_STALE_IF_ERROR_MS')
  })
  const purges = createPurgeRegistry({ logger: options.logger })
  // The purged outputs are left behind by their new keys; the origin is asked again, so a replaced
  // original is read now rather than once its version stops being trusted.
  purges.onPurge((scope) => { origin.forget(scope.imageId === null ? bucketKey(scope.bucket) : originKey(scope.bucket, scope.imageId)) })
  const cdn = options.cdn === undefined ? createCdn(config) : options.cdn
  const purge = createPurgeService({
    registry: purges,
    aliasesOf: async (bucket) => await logic.aliasesOf?.(bucket) ?? [],
    cdn,
    logger: options.logger,
    // The tenant tag takes only tenants the logic source names, as on every metric.
    onPurged: (tenant) => { metrics.purge({ tenant: logic.isKnownTenant(tenant) ? tenant : UNKNOWN_TENANT }) }
  })
  const deliverImage = createImageDelivery({
    origin,
    logic,
    cache,
    transform: createTransformer({ limiter, metrics }),
    metrics,
    settings,
    purges
  })

  let ready = true
  let closing = false
  registerSecurityHeaders(server)
  server.addHook('onRequest', async () => {
    if (closing) throw new DeliveryError('SHUTTING_DOWN')
  })
  registerAccessLog(server)
  registerMetrics(server, metrics)
  registerErrorHandler(server, { notFoundMaxAgeSeconds: () => config.notFoundMaxAgeS })
  registerHealthRoute(server, { isReady: () => ready, startedAt: new Date() })
  registerImageRoutes(server, {
    deliverImage,
    maxOutputDimension: () => dynamic.get('LIMITS_MAX_OUTPUT_DIMENSION'),
    onAborted: (tenant, route) => { metrics.requestAborted({ tenant, route }) }
  })
  server.addHook('onClose', async () => { unbindDynamic() })
  void server.register(schemaRoutes, { maxBodyBytes: config.schemaValidation.maxBytes })
  void server.register(hystrixStreamRoutes, { breakers: () => Object.values(breakers), intervalMs: config.hystrixStreamIntervalMs })

  return {
    server,
    markShuttingDown: () => { ready = false },
    close: async () => {
      ready = false
      closing = true
      await server.close()
    },
    breakers,
    dynamic,
    cache,
    discovery,
    flush: async () => {
      await cache.flush?.()
      await (logic as { close?: () => Promise<void> }).close?.()
      cdn?.close?.()
    },
    runningTransforms: () => limiter.running,
    limiter: () => limiter.state(),
    purge
  }
}
