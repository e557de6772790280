import pino from 'pino'
import { buildApp, type App } from './app.ts'
import { ConfigError, loadConfig } from './config/load.ts'
import type { AppConfig } from './config/schema.ts'
import { LogicFileError } from './logic/file-logic.ts'
import { installShutdown } from './lifecycle/shutdown.ts'

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' })

let config: AppConfig
let app: App
try {
  config = loadConfig()
  logger.level = config.logLevel
  app = buildApp({ config, logger })
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
  markOutOfService: [{ name: 'readiness', run: app.markShuttingDown }],
  closeListeners: [{ name: 'public listener', run: app.close }],
  cleanUp: [
    { name: 'shared cache uploads', run: app.flush },
    { name: 'logs', run: () => { logger.flush() } }
  ],
  exit: (code) => process.exit(code)
})

await app.server.listen({ port: config.port, host: config.host })
