import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DeliveryError, isDeliveryError } from '../../errors.ts'
import { setSecurityHeaders } from './security-headers.ts'

export interface ErrorHandlerOptions {
  /** max-age of image 404s (`NOT_FOUND_MAX_AGE_S`), so a CDN does not hammer us for missing images. */
  notFoundMaxAgeSeconds: () => number
}

/**
 * The only place errors become responses: the `{"error":{code,message,requestId}}`
 * shape, `Cache-Control: no-store`, no stack traces. Anything that is not a DeliveryError is an
 * internal error: logged in full, answered with a generic message.
 */
export function registerErrorHandler (app: FastifyInstance, options: ErrorHandlerOptions): void {
  app.setErrorHandler(async (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const deliveryError = toDeliveryError(error)
    if (deliveryError.code === 'INTERNAL_ERROR') request.log.error({ err: error }, 'unexpected error')
    else if (deliveryError.report) request.log.error({ err: deliveryError, cause: deliveryError.cause }, deliveryError.message)
    else request.log.warn({ code: deliveryError.code }, deliveryError.message)
    await sendError(reply, request, deliveryError, options)
  })

  app.setNotFoundHandler(async (request, reply) => {
    await sendError(reply, request, new DeliveryError('IMAGE_NOT_FOUND', 'No such route'), { notFoundMaxAgeSeconds: () => 0 })
  })
}

/**
 * For Fastify's `frameworkErrors` option: errors raised before routing (a malformed URL) reach
 * neither the error handler nor a route, but must still answer in the error shape.
 */
export function frameworkErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  setSecurityHeaders(reply)
  void sendError(reply, request, toDeliveryError(error), { notFoundMaxAgeSeconds: () => 0 })
}

/**
 * For Fastify's `clientErrorHandler`: requests node's parser refuses (a space or raw UTF-8 in the
 * target, an oversized header block) and clients cut off by the server timeouts never become a
 * request object. They still get the error shape, on a connection that is then closed.
 */
export function clientErrorHandler (error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const deliveryError = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? new DeliveryError('REQUEST_TIMEOUT')
    : new DeliveryError('INVALID_PARAMETER', error.code === 'HPE_HEADER_OVERFLOW' ? 'Request header fields too large' : 'Malformed HTTP request')
  const requestId = randomUUID()
  const body = JSON.stringify(errorBody(deliveryError, requestId))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${deliveryError.statusCode} ${deliveryError.statusCode === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
      'content-type: application/json; charset=utf-8\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n' +
      `x-request-id: ${requestId}\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  }
  socket.destroy()
}

function toDeliveryError (error: FastifyError | Error): DeliveryError {
  if (isDeliveryError(error)) return error
  const fastifyError = error as FastifyError
  if (fastifyError.code === 'FST_ERR_BAD_URL') return new DeliveryError('INVALID_IMAGE_ID', 'Malformed URL', { cause: error })
  // Fastify's own client errors (bad body, bad content type, …) are the caller's parameters.
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new DeliveryError('INVALID_PARAMETER', fastifyError.message, { cause: error })
  }
  return new DeliveryError('INTERNAL_ERROR', undefined, { cause: error })
}

async function sendError (reply: FastifyReply, request: FastifyRequest, error: DeliveryError, options: ErrorHandlerOptions): Promise<void> {
  const maxAge = options.notFoundMaxAgeSeconds()
  const cacheControl = error.code === 'IMAGE_NOT_FOUND' && maxAge > 0 ? `public, max-age=${maxAge}` : 'no-store'
  void reply.code(error.statusCode).header('cache-control', cacheControl).header('x-request-id', request.id).type('application/json; charset=utf-8')
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds))
  await reply.send(errorBody(error, request.id))
}

/** The error shape, for answers through Fastify and for those written on the raw socket. */
function errorBody (error: DeliveryError, requestId: string): { error: { code: string, message: string, requestId: string } } {
  return { error: { code: error.code, message: error.message, requestId } }
}
