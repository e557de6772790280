import type { Logger } from 'pino'

type Level = 'debug' | 'info' | 'warn' | 'error'
type LogMethod = (message: string, ...rest: unknown[]) => void

/** eureka-js-client logs `(message, error?)`; pino wants `(object, message)`. */
export function clientLogger (logger: Logger): Record<Level, LogMethod> {
  const method = (level: Level): LogMethod => (message, ...rest) => {
    // Logged on every lookup of an app that has no UP instance: the caller reports that itself.
    const effective = message.startsWith('Unable to retrieve instances') ? 'debug' : level
    const detail = rest[0]
    if (detail instanceof Error) logger[effective]({ err: detail }, message)
    else if (detail !== undefined) logger[effective]({ detail }, message)
    else logger[effective](message)
  }
  return { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') }
}
