import fs from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { S3Client } from '@aws-sdk/client-s3'
import { createS3Client } from '../../src/aws/s3-client.ts'

/** The part of s3rver (untyped CommonJS) used here. */
interface S3rverInstance {
  run: () => Promise<AddressInfo>
  close: () => Promise<void>
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor

/** s3rver accepts only these keys (its fixed account). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
export const S3RVER_REGION = 'us-east-1'

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string
  port: number
  /** Files of the buckets, in a temporary folder removed by `close`. */
  directory: string
  /** A client with the server's credentials, for arranging and inspecting objects. */
  client: S3Client
  close: () => Promise<void>
}

export interface S3ServerOptions {
  buckets: readonly string[]
  /** 0 picks a free port. */
  port?: number
  /** Keeps the files in this folder instead of a temporary one (not removed by `close`). */
  directory?: string
}

/** A real S3-protocol server on loopback, with the given buckets created. */
export async function startS3Server (options: S3ServerOptions): Promise<S3Server> {
  const temporary = options.directory === undefined
  const directory = options.directory ?? await fs.mkdtemp(path.join(os.tmpdir(), 'delivery-images-s3-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name }))
  })
  const address = await server.run()
  const endpoint = `http://127.0.0.1:${address.port}`
  const client = createS3Client({
    region: S3RVER_REGION,
    endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS
  })
  return {
    endpoint,
    port: address.port,
    directory,
    client,
    async close () {
      client.destroy()
      await server.close()
      if (temporary) await fs.rm(directory, { recursive: true, force: true })
    }
  }
}
