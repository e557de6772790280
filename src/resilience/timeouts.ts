/**
 * Whether a failure means "ran out of time", whichever library raised it: the one rule by which a
 * call that took too long becomes a 504 `UPSTREAM_TIMEOUT` rather than a 502.
 */

/** `error.code`s that are timeouts. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  // node's sockets; opossum's own timer raises it too ("Timed out after …ms").
  'ETIMEDOUT',
  // undici: opening the connection, waiting for the headers, waiting between body chunks.
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT'
])

/** `error.name`s that are timeouts. */
const TIMEOUT_NAMES: ReadonlySet<string> = new Set([
  // The reason of an AbortSignal.timeout() signal (a DOMException), and the AWS SDK's request
  // timeout (`throwOnRequestTimeout`).
  'TimeoutError',
  // S3's error code when it gave up waiting for the request.
  'RequestTimeout'
])

interface ErrorLike {
  code?: unknown
  name?: unknown
  cause?: unknown
}

const fields = (error: unknown): ErrorLike => typeof error === 'object' && error !== null ? error : {}

function saysTimeout ({ code, name }: ErrorLike): boolean {
  return (typeof code === 'string' && TIMEOUT_CODES.has(code)) || (typeof name === 'string' && TIMEOUT_NAMES.has(name))
}

export function isTimeout (error: unknown): boolean {
  const described = fields(error)
  // An abort is a timeout when a timeout aborted it: node's APIs give the signal's reason as the cause.
  return saysTimeout(described) || (described.name === 'AbortError' && saysTimeout(fields(described.cause)))
}
