import os from 'node:os'
import pino, { type DestinationStream, type Level, type Logger } from 'pino'
import type { ServiceTags } from './service-tags.ts'

export interface LoggerOptions {
  /** `LOG_LEVEL`; change it later with `logger.level = …`. */
  level: Level | 'silent'
  /** Where JSON lines go; stdout by default. Tests pass a sink. */
  destination?: DestinationStream
  /**
   * `service`, `env` and `version` on every line (serviceTags()): Datadog and Sumo Logic read them
   * as the line's service tags, also for lines logged outside a trace.
   */
  serviceTags?: ServiceTags
}

export const REDACTED = '[redacted]'

/**
 * Secrets that must never reach a log line: credentials in headers, the signing keys and the
 * admin token (also under their configuration and environment names) and the `s` signature.
 */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers.cookie',
  'req.headers.cookie',
  'signingKeys',
  'config.signingKeys',
  'SIGNING_KEYS',
  'env.SIGNING_KEYS',
  'adminToken',
  'admin.token',
  'config.admin.token',
  'ADMIN_TOKEN',
  'env.ADMIN_TOKEN',
  'signature',
  'query.signature'
]
// Explicit paths only: wildcard paths made redaction a noticeable share of the per-request cost.

/** A URL's `s` query parameter: a valid signature would let anyone reading logs replay the transformation. */
const SIGNATURE_PARAMETER = /([?&]s=)[^&#\s"]*/g
const URL_KEY = /url|path|href|location/i
const MAX_DEPTH = 3

/**
 * pino, JSON lines: ISO time, level as a label, secrets redacted. When dd-trace was initialised
 * first (src/observability/tracer.ts) its pino integration adds `dd.trace_id`/`dd.span_id` to
 * every line logged inside a span, which links a log line to its trace in Datadog.
 */
export function createLogger (options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    // pino's own base (pid, hostname) plus the service tags.
    base: { pid: process.pid, hostname: os.hostname(), ...options.serviceTags },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (object: Record<string, unknown>) => scrubUrls(object, 0)
    },
    hooks: {
      logMethod (this: Logger, args: Parameters<Logger['info']>, method: (...args: unknown[]) => void) {
        method.apply(this, args.map((arg) => typeof arg === 'string' ? scrubSignatures(arg) : arg))
      }
    }
  }
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination)
}

/** Replaces the value of every `s` query parameter in a URL or path. */
export function scrubSignatures (text: string): string {
  return text.includes('s=') ? text.replace(SIGNATURE_PARAMETER, `$1${REDACTED}`) : text
}

/** URL-like fields, also nested (`req.url`), copied only when something changes. */
function scrubUrls (object: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | null = null
  for (const [key, value] of Object.entries(object)) {
    let next = value
    if (typeof value === 'string' && URL_KEY.test(key)) next = scrubSignatures(value)
    else if (depth < MAX_DEPTH && isPlainObject(value)) next = scrubUrls(value, depth + 1)
    if (next !== value) {
      copy ??= { ...object }
      copy[key] = next
    }
  }
  return copy ?? object
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}
