import { addAbortSignal, type Readable } from 'node:stream'
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { DeliveryError, isDeliveryError } from '../errors.ts'
import type { Breaker } from '../resilience/breakers.ts'
import { checkOriginKey, originalChanged, sourceTooLarge, type Origin, type OriginRequest, type Source, type SourceVersion } from './origin.ts'
import { isTimeout } from '../resilience/timeouts.ts'

export interface S3OriginOptions {
  client: S3Client
  bucket: string
  /** `S3_KEY_PREFIX`, put before `<tenant>/<domain>/<bucket>/<imageId>` as is. */
  keyPrefix: string
  /** `DeliveryImages#GetOriginalFromStorage`: every HEAD and GET goes through it. */
  breaker: Breaker
}

interface ObjectHead {
  ETag?: string | undefined
  LastModified?: Date | undefined
  ContentLength?: number | undefined
}

/**
 * Originals in S3 (`ORIGIN=s3`). `stat` is a HeadObject, so a 304 or a cache hit never downloads
 * the original; the S3 ETag is the version, so replacing an object changes every derived key.
 */
export function createS3Origin (options: S3OriginOptions): Origin {
  const { client, bucket, keyPrefix, breaker } = options
  /** Built from checked parts only: the SDK's URL handling must never see a `.` segment. */
  const objectKey = (key: string): string => {
    const { bucketPrefix, imageId } = checkOriginKey(key)
    return `${keyPrefix}${bucketPrefix}/${imageId}`
  }

  async function stat (key: string, request: OriginRequest): Promise<SourceVersion> {
    const Key = objectKey(key)
    return await breaker.fire(async (timeout) => {
      const signal = combine(timeout, request.signal)
      try {
        const head = await client.send(withRequestId(new HeadObjectCommand({ Bucket: bucket, Key }), request), { abortSignal: signal })
        const version = versionOf(head)
        if (version.size > request.maxBytes) throw sourceTooLarge(version.size, request.maxBytes)
        return version
      } catch (error) {
        throw translate(error, signal)
      }
    })
  }

  async function get (key: string, request: OriginRequest): Promise<Source> {
    const Key = objectKey(key)
    return await breaker.fire(async (timeout) => {
      const signal = combine(timeout, request.signal)
      try {
        // If-Match: bytes of a newer version must not be transformed and cached under the old version's key.
        const ifMatch = request.expectedVersion === undefined ? {} : { IfMatch: `"${request.expectedVersion.tag}"` }
        const command = new GetObjectCommand({ Bucket: bucket, Key, ...ifMatch })
        const object = await client.send(withRequestId(command, request), { abortSignal: signal })
        const body = object.Body as Readable | undefined
        if (body === undefined) throw new DeliveryError('UPSTREAM_ERROR', 'The storage answered without a body')
        const version = versionOf(object)
        if (version.size > request.maxBytes) {
          body.destroy()
          throw sourceTooLarge(version.size, request.maxBytes)
        }
        const bytes = await readAtMost(body, request.maxBytes, signal)
        return { input: bytes, size: bytes.length, version: { ...version, size: bytes.length } }
      } catch (error) {
        throw translate(error, signal)
      }
    })
  }

  return { stat, get }
}

interface RequestHeaders { request: { headers?: Record<string, string> } }
type BuildHandler = (args: RequestHeaders) => Promise<unknown>

/** the request id goes to every upstream, S3 included (it shows in S3 server access logs). */
function withRequestId<C extends HeadObjectCommand | GetObjectCommand> (command: C, request: OriginRequest): C {
  const { requestId } = request
  if (requestId === undefined) return command
  const middleware = (next: BuildHandler) => async (args: RequestHeaders) => {
    if (args.request.headers !== undefined) args.request.headers['x-request-id'] = requestId
    return await next(args)
  }
  const stack = command.middlewareStack as unknown as { add: (m: typeof middleware, o: { step: 'build', name: string }) => void }
  stack.add(middleware, { step: 'build', name: 'deliveryImagesRequestId' })
  return command
}

function versionOf (head: ObjectHead): SourceVersion {
  if (head.ETag === undefined || head.LastModified === undefined) {
    throw new DeliveryError('UPSTREAM_ERROR', 'The storage answered without ETag or Last-Modified')
  }
  // A chunked answer has no length; readAtMost still enforces the limit.
  return { tag: head.ETag.replaceAll('"', ''), lastModified: head.LastModified, size: head.ContentLength ?? 0 }
}

/**
 * Reads the body but never holds more than `maxBytes`: Content-Length was checked already, this
 * guards a server that sends more than it announced. The signal also cancels a body that trickles
 * in after the headers came, which the SDK's own abort no longer covers.
 */
async function readAtMost (body: Readable, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  addAbortSignal(signal, body)
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of body) {
    const buffer = chunk as Buffer
    length += buffer.length
    if (length > maxBytes) {
      body.destroy()
      throw sourceTooLarge(length, maxBytes, true)
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks, length)
}

function combine (timeout: AbortSignal, request: AbortSignal | undefined): AbortSignal {
  return request === undefined ? timeout : AbortSignal.any([timeout, request])
}

interface SdkError {
  name?: string
  $metadata?: { httpStatusCode?: number }
}

/**
 * SDK and network errors → DeliveryErrors. A missing key is the client's 404 (the breaker does not
 * count it); a missing bucket, denied access, throttling or a 5xx mean the storage or its
 * configuration is failing: 502, counted by the breaker.
 */
function translate (error: unknown, signal: AbortSignal): DeliveryError {
  if (isDeliveryError(error)) return error
  const { name, $metadata } = error as SdkError
  const status = $metadata?.httpStatusCode
  if (name === 'NoSuchKey' || (name === 'NotFound' && status === 404)) return new DeliveryError('IMAGE_NOT_FOUND')
  if (status === 412) return originalChanged(error)
  if (signal.aborted || isTimeout(error)) {
    return new DeliveryError('UPSTREAM_TIMEOUT', 'The storage did not answer in time', { cause: error })
  }
  const detail = status === undefined ? name ?? 'network error' : `${status} ${name ?? ''}`.trim()
  return new DeliveryError('UPSTREAM_ERROR', `The storage failed: ${detail}`, { cause: error })
}
