import './lifecycle/threadpool.ts'
import type { FastifyInstance } from 'fastify'
import { buildApp, type App } from './app.ts'
import { ConfigError, loadConfig } from './config/load.ts'
import type { AppConfig } from './config/schema.ts'
import { bindDynamicConfig, createDynamicConfig, startDynamicSource } from './config/dynamic.ts'
import { startSecrets, type StartedSecrets } from './config/secrets.ts'
import { buildAdminServer } from './http/admin/admin-server.ts'
import { LogicFileError } from './logic/file-logic.ts'
import { installShutdown } from './lifecycle/shutdown.ts'
import { createLogger } from './observability/logger.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'
import { serviceTags } from './observability/service-tags.ts'

/**
 * The process: configuration, the app and its admin port, the dynamic-configuration source,
 * Eureka registration once listening, and the shutdown sequence.
 */
// `info` until the configuration (and so LOG_LEVEL) is validated; then the configured level.
const logger = createLogger({ level: 'info', serviceTags: serviceTags(process.env.APP_ENV ?? 'local') })

let config: AppConfig
let app: App
let admin: FastifyInstance
let metrics: Metrics
let secrets: StartedSecrets
let dynamicSource: Awaited<ReturnType<typeof startDynamicSource>>
try {
  config = loadConfig()
  logger.level = config.logLevel
  metrics = createMetrics(config.statsd, serviceTags(config.appEnv), {
    onError: (error) => { logger.debug({ err: error }, 'statsd send failed') }
  })
  const dynamic = createDynamicConfig({ config, logger, onChangeMetric: (key) => { metrics.dynamicConfigChange(key) } })
  // LOG_LEVEL is dynamic: the process logger follows the source and the admin port.
  bindDynamicConfig(dynamic, { logger })
  // Before anything can serve: the first read of the secrets store decides the keys requests see.
  secrets = await startSecrets({ config, logger })
  app = buildApp({ config, logger, metrics, dynamic, secrets })
  admin = buildAdminServer({ config, dynamic, breakers: app.breakers, logger, limiter: app.limiter, purge: app.purge, secrets })
  // Before listening: the first poll (bounded) decides the values the first requests see.
  dynamicSource = await startDynamicSource({ config, dynamic, logger, records: [app.purge.records] })
  // Purges travel through the same source to every instance (to this one only without a source).
  app.purge.publishThrough(dynamicSource)
} catch (error) {
  if (error instanceof ConfigError || error instanceof LogicFileError) {
    logger.fatal(error.message)
    process.stderr.write(`${error.message}\n`)
    process.exit(78) // EX_CONFIG
  }
  throw error
}

function crash (error: unknown): void {
  logger.fatal({ err: error }, 'uncaught error: exiting')
  logger.flush()
  process.exit(1)
}
process.on('uncaughtException', crash)
process.on('unhandledRejection', crash)

installShutdown({
  logger,
  drainMs: config.shutdown.drainMs,
  timeoutMs: config.shutdown.timeoutMs,
  markOutOfService: [
    { name: 'readiness', run: app.markShuttingDown },
    { name: 'eureka status', run: app.discovery.markOutOfService }
  ],
  closeListeners: [
    { name: 'public listener', run: app.close },
    { name: 'admin listener', run: async () => { await admin.close() } }
  ],
  cleanUp: [
    { name: 'eureka registration', run: app.discovery.stop },
    { name: 'dynamic config source', run: async () => { await dynamicSource?.stop() } },
    { name: 'secrets poll', run: async () => { await secrets.stop() } },
    { name: 'background work', run: app.flush },
    { name: 'metrics', run: metrics.close },
    { name: 'logs', run: () => { logger.flush() } }
  ],
  exit: (code) => {
    // A libvips job that cannot be interrupted (an abandoned AVIF encode) would hold exit() until it
    // ends; the process must stop now, so it is killed instead.
    if (app.runningTransforms() > 0) {
      logger.warn({ code, runningTransforms: app.runningTransforms() }, 'exiting without waiting for libvips')
      logger.flush()
      process.kill(process.pid, 'SIGKILL')
    }
    process.exit(code)
  }
})

await app.server.listen({ port: config.port, host: config.host })
await admin.listen({ port: config.admin.port, host: config.admin.host })
// Registered only once it can serve: Eureka clients may pick it as soon as it is UP.
await app.discovery.start()
