/**
 * The error registry: the only place where an error code is paired with an HTTP status.
 * `report: true` marks errors that mean something is wrong on our side or upstream (logged at
 * `error`); the rest are the client's mistakes (logged at `warn`).
 */
const definitions = {
  INVALID_PARAMETER: { status: 400, message: 'Invalid parameter' },
  INVALID_IMAGE_ID: { status: 400, message: 'Invalid image id' },
  ADHOC_NOT_ALLOWED: { status: 403, message: 'Ad-hoc transformations are not allowed for this bucket' },
  INVALID_SIGNATURE: { status: 403, message: 'Missing or invalid signature' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  IMAGE_NOT_FOUND: { status: 404, message: 'Image not found' },
  RULE_NOT_FOUND: { status: 404, message: 'Rule not found' },
  BUCKET_NOT_FOUND: { status: 404, message: 'Bucket not found' },
  ALIAS_NOT_FOUND: { status: 404, message: 'Alias not found' },
  SOURCE_TOO_LARGE: { status: 413, message: 'Source image too large' },
  BODY_TOO_LARGE: { status: 413, message: 'Request body too large' },
  UNSUPPORTED_SOURCE: { status: 415, message: 'Source is not a decodable image' },
  SOURCE_TOO_MANY_PIXELS: { status: 422, message: 'Source image has too many pixels' },
  IMAGE_TAKEN_DOWN: { status: 451, message: 'The image is under a takedown' },
  UPSTREAM_ERROR: { status: 502, message: 'Upstream error', report: true },
  OVERLOADED: { status: 503, message: 'Server overloaded, retry later', report: true },
  DEPENDENCY_UNAVAILABLE: { status: 503, message: 'A dependency is unavailable', report: true },
  SHUTTING_DOWN: { status: 503, message: 'Server is shutting down' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'Upstream timed out', report: true },
  TRANSFORM_TIMEOUT: { status: 504, message: 'Transformation timed out', report: true },
  // Never seen by a client: it left. 499 as nginx logs it, so logs and request.count tell it apart.
  CLIENT_CLOSED_REQUEST: { status: 499, message: 'The client closed the request' },
  INTERNAL_ERROR: { status: 500, message: 'Internal server error', report: true }
} as const satisfies Record<string, { status: number, message: string, report?: boolean }>

export type ErrorCode = keyof typeof definitions

/**
 * The admin port's own answers (operators, not browsers): paired with their statuses here as well,
 * so that the admin port too states a status in one place only.
 */
const adminDefinitions = {
  INVALID_REQUEST: { status: 400, message: 'The request is not valid' },
  INVALID_VALUE: { status: 400, message: 'The value is not valid for this property' },
  NOT_DYNAMIC: { status: 400, message: 'The property changes only with a restart' },
  UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required' },
  READ_ONLY: { status: 403, message: 'The admin port is read-only: ADMIN_TOKEN is not configured' },
  NOT_FOUND: { status: 404, message: 'Not an admin route' },
  UNKNOWN_PROPERTY: { status: 404, message: 'Not a configuration property' },
  INTERNAL_ERROR: { status: 500, message: 'Internal error' },
  PURGE_NOT_PUBLISHED: { status: 503, message: 'The purge could not be published to the dynamic configuration source' }
} as const satisfies Record<string, { status: number, message: string }>

export type AdminErrorCode = keyof typeof adminDefinitions

export const ADMIN_ERROR_DEFINITIONS: Readonly<Record<AdminErrorCode, { status: number, message: string }>> = adminDefinitions

export const ERROR_DEFINITIONS: Readonly<Record<ErrorCode, { status: number, message: string, report?: boolean }>> =
  definitions

interface DeliveryErrorOptions {
  cause?: unknown
  retryAfterSeconds?: number
}

/** An expected failure with a stable public code; anything else thrown is an internal error. */
export class DeliveryError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly report: boolean
  readonly retryAfterSeconds: number | undefined

  constructor (code: ErrorCode, message?: string, options: DeliveryErrorOptions = {}) {
    super(message ?? definitions[code].message, { cause: options.cause })
    const definition: { status: number, report?: boolean } = definitions[code]
    this.name = 'DeliveryError'
    this.code = code
    this.statusCode = definition.status
    this.report = definition.report ?? false
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

export function isDeliveryError (error: unknown): error is DeliveryError {
  return error instanceof DeliveryError
}
