import fs from 'node:fs'
import path from 'node:path'
import convict from 'convict'
import { SCHEMA_LEAVES } from './leaves.ts'
import { configSchema, signingKeysOf, type AppConfig } from './schema.ts'

/**
 * A configuration problem found at start-up. main.ts prints its message as one line on stderr and
 * exits 78 (EX_CONFIG), so the message names the variable and carries no stack.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** A ConfigError about one variable, named as every other one is: `LIMITS_MAX_QUEUE (limits.maxQueue): <problem>`. */
export function configErrorAt (path: string, problem: string): ConfigError {
  return new ConfigError(nameVariables(`${path}: ${problem}`))
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
 * defaults → config/<APP_ENV>.json → CONFIG_FILE → environment, validated strictly.
 * A bad value throws a ConfigError naming the environment variable, so the process never starts
 * half-configured.
 */
export function loadConfig (options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env
  const configDir = options.configDir ?? path.resolve(import.meta.dirname, '../../config')
  try {
    const config = convict(configSchema, { env, args: [] })
    const envFile = path.join(configDir, `${config.get('appEnv')}.json`)
    if (fs.existsSync(envFile)) loadFile(config, envFile, envFile)
    const extraFile = config.get('configFile')
    if (extraFile !== null) loadFile(config, extraFile, `configFile: cannot load ${extraFile}`)
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

/** convict's messages for an unreadable or malformed file name neither the file nor the variable. */
function loadFile (config: { loadFile: (file: string) => unknown }, file: string, what: string): void {
  try {
    config.loadFile(file)
  } catch (error) {
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
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

const envNameByKey: ReadonlyMap<string, string> = new Map(SCHEMA_LEAVES.map(({ path, leaf }) => [path, leaf.env]))

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
