import pino from 'pino'
import { buildApp, type App } from './app.ts'
import type { AppConfig } from './config/schema.ts'
import { ConfigError, loadConfig } from './config/load.ts'
import { LogicFileError } from './logic/file-logic.ts'

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

await app.server.listen({ port: config.port, host: config.host })

let stopping = false
async function shutdown (signal: string): Promise<void> {
  if (stopping) {
    logger.warn({ signal }, 'second signal, exiting now')
    process.exit(130)
  }
  stopping = true
  logger.info({ signal }, 'shutting down')
  app.markShuttingDown()
  await new Promise((resolve) => setTimeout(resolve, config.shutdown.drainMs))
  await app.server.close()
  await app.flush()
  logger.flush()
  process.exit(0)
}
process.on('SIGTERM', (signal) => { void shutdown(signal) })
process.on('SIGINT', (signal) => { void shutdown(signal) })
