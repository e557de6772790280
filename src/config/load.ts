import fs from 'node:fs'
import path from 'node:path'
import convict from 'convict'
import { configSchema, signingKeysOf, type AppConfig } from './schema.ts'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface LoadConfigOptions {
  /** Environment variables; `process.env` in production, a plain object in tests. */
  env?: NodeJS.ProcessEnv
  /** Folder holding `<APP_ENV>.json`. */
  configDir?: string
  /** Values applied over everything else (tests). */
  overrides?: Record<string, unknown>
}

/**
 * defaults → config/<APP_ENV>.json → CONFIG_FILE → environment, validated strictly (SPEC §7).
 * A bad value throws a ConfigError naming the environment variable, so the process never starts
 * half-configured.
 */
export function loadConfig (options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env
  const configDir = options.configDir ?? path.resolve(import.meta.dirname, '../../config')
  try {
    const config = convict(configSchema, { env, args: [] })
    const envFile = path.join(configDir, `${config.get('appEnv')}.json`)
    if (fs.existsSync(envFile)) config.loadFile(envFile)
    const extraFile = config.get('configFile')
    if (extraFile !== null) config.loadFile(extraFile)
    if (options.overrides !== undefined) config.load(options.overrides)
    config.validate({ allowed: 'strict' })
    const properties = config.getProperties() as AppConfig
    properties.signingKeys = signingKeysOf(properties.signingKeys)
    checkTogether(properties)
    return properties
  } catch (error) {
    throw new ConfigError(nameVariables(error instanceof Error ? error.message : String(error)))
  }
}

/** Rules across variables, which a convict format (one value at a time) cannot state. */
function checkTogether (config: AppConfig): void {
  const { headersTimeoutMs, requestTimeoutMs } = config.server
  // The headers are part of the request: a longer headers timeout could never apply (node refuses it too).
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new Error(`server.headersTimeoutMs: must be at most SERVER_REQUEST_TIMEOUT_MS (${requestTimeoutMs}): value was ${headersTimeoutMs}`)
  }
}

const envNameByKey = collectEnvNames(configSchema, '')

function collectEnvNames (schema: object, prefix: string): Map<string, string> {
  const names = new Map<string, string>()
  for (const [key, value] of Object.entries(schema)) {
    const fullKey = prefix + key
    if (typeof value === 'object' && value !== null && 'env' in value && typeof value.env === 'string') {
      names.set(fullKey, value.env)
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of collectEnvNames(value as object, `${fullKey}.`)) names.set(k, v)
    }
  }
  return names
}

/** convict reports schema keys ("limits.maxQueue: must be …"); operators know the variable names. */
function nameVariables (message: string): string {
  return message.replace(/^([\w.]+):/gm, (match, key: string) => {
    const envName = envNameByKey.get(key)
    return envName === undefined ? match : `${envName} (${key}):`
  })
}

/** The environment variable of every configuration key, e.g. `limits.maxQueue` → `LIMITS_MAX_QUEUE`. */
export function environmentVariables (): ReadonlyMap<string, string> {
  return envNameByKey
}
