import http from 'node:http'
import https from 'node:https'
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { awsClientConfig } from './client-config.ts'

export interface S3ClientSettings {
  region: string
  /** An S3-compatible server (MinIO, s3rver, …); AWS's own endpoint when null. */
  endpoint?: string | null
  /** `bucket` in the path instead of the host name: S3-compatible servers rarely have wildcard DNS. */
  forcePathStyle?: boolean
  /** Static keys (local stack, tests); the default provider chain (env, profile, IMDS, IRSA) when absent. */
  credentials?: NonNullable<S3ClientConfig['credentials']>
  /** Time allowed to open a TCP/TLS connection. */
  connectionTimeoutMs?: number
  /** Time allowed for a whole request, response headers included; the caller's abort signal bounds the body. */
  requestTimeoutMs?: number
  /** Sockets per host; originals and cache objects are fetched in parallel under load. */
  maxSockets?: number
  /** Attempts per call including the first; the SDK retries throttling, 5xx and network errors with backoff. */
  maxAttempts?: number
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 1000
const DEFAULT_REQUEST_TIMEOUT_MS = 10000
const DEFAULT_MAX_SOCKETS = 256

/**
 * One S3Client per bucket role. Keep-alive agents avoid a TCP (and TLS) handshake per image, and
 * explicit timeouts keep a stuck connection from holding a request until the OS gives up.
 */
export function createS3Client (settings: S3ClientSettings): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets ?? DEFAULT_MAX_SOCKETS }
  return new S3Client({
    ...awsClientConfig(settings),
    forcePathStyle: settings.forcePathStyle ?? false,
    maxAttempts: settings.maxAttempts ?? 3,
    requestHandler: {
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
      connectionTimeout: settings.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true
    },
    // Since SDK 3.729 every upload carries a CRC32 checksum, streamed bodies are sent as
    // `aws-chunked` with a trailer, and downloads are validated against x-amz-checksum-* headers.
    // S3-compatible servers (s3rver, older MinIO/Ceph) either reject that or store the chunk framing
    // as object bytes. Only send checksums where the API requires them; uploads here are whole
    // buffers with a Content-MD5 instead, which every S3 implementation understands.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
}
