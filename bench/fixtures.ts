import dgram from 'node:dgram'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'

/** What the servers under test read: originals on disk or in s3rver, a logic file, a StatsD sink. */

export type Source = 'kleiber' | 'raindrops'
export interface Bucket { tenant: string, domain: string, bucket: string }

const SAMPLES = path.resolve(import.meta.dirname, '../data/originals/demo/news/photos')

/** Tenant X carries every workload; tenant Y is the light stream of the fairness workload. */
export const TENANT_X: Bucket = { tenant: 'bench', domain: 'site', bucket: 'images' }
export const TENANT_Y: Bucket = { tenant: 'other', domain: 'site', bucket: 'images' }

export function bucketPrefix (bucket: Bucket): string {
  return `${bucket.tenant}/${bucket.domain}/${bucket.bucket}`
}

export function imageId (source: Source | 'probe', index: number): string {
  return `${source}-${index}.jpg`
}

/**
 * `<root>/<tenant>/<domain>/<bucket>/<source>-<n>.jpg` for n < ids, hard links to the two samples
 * (free on disk, and distinct images to the service, whose keys hold the id), plus `probe-<n>.jpg`
 * (2 MP) for the single timed requests, which must never share a transformation with the load.
 */
export function writeOriginals (root: string, ids: number, probes: number): void {
  for (const bucket of [TENANT_X, TENANT_Y]) {
    const dir = path.join(root, bucketPrefix(bucket))
    fs.mkdirSync(dir, { recursive: true })
    for (const source of ['kleiber', 'raindrops'] as const) {
      const sample = path.join(SAMPLES, `${source}.jpg`)
      for (let index = 0; index < ids; index++) fs.linkSync(sample, path.join(dir, imageId(source, index)))
    }
    for (let index = 0; index < probes; index++) fs.linkSync(path.join(SAMPLES, 'raindrops.jpg'), path.join(dir, imageId('probe', index)))
  }
}

/** A logic file with the two buckets, ad-hoc transformations allowed. */
export function writeLogicFile (file: string): void {
  const buckets = Object.fromEntries([TENANT_X, TENANT_Y].map((bucket) => [bucketPrefix(bucket), { adHoc: 'allow' }]))
  fs.writeFileSync(file, JSON.stringify({ buckets }))
}

/** The service sends metrics as in production; this drains them and counts the datagrams. */
export interface StatsdSink { port: number, datagrams: () => number, close: () => void }

export async function openStatsdSink (): Promise<StatsdSink> {
  const socket = dgram.createSocket('udp4')
  let datagrams = 0
  socket.on('message', () => { datagrams++ })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { port: (socket.address()).port, datagrams: () => datagrams, close: () => { socket.close() } }
}

/** The part of s3rver (untyped CommonJS) used here. */
type S3rver = new (options: Record<string, unknown>) => { run: () => Promise<AddressInfo>, close: () => Promise<void> }

export interface S3Origin {
  /** The service's environment for ORIGIN=s3. */
  env: Record<string, string>
  close: () => Promise<void>
}

const S3_BUCKET = 'originals'
const S3_REGION = 'us-east-1'
/** s3rver accepts only these keys. */
const S3_KEY = 'S3RVER'

/** s3rver on loopback (in this process) holding `<tenant>/<domain>/<bucket>/<id>` for n < ids of tenant X. */
export async function startS3Origin (directory: string, ids: number): Promise<S3Origin> {
  const S3rverClass = createRequire(import.meta.url)('s3rver') as S3rver
  const server = new S3rverClass({ address: '127.0.0.1', port: 0, directory, silent: true })
  const address = await server.run()
  const endpoint = `http://127.0.0.1:${address.port}`
  const client = new S3Client({ region: S3_REGION, endpoint, forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY } })
  try {
    const timeout = (): { abortSignal: AbortSignal } => ({ abortSignal: AbortSignal.timeout(30_000) })
    await client.send(new CreateBucketCommand({ Bucket: S3_BUCKET }), timeout())
    for (const source of ['kleiber', 'raindrops'] as const) {
      const body = fs.readFileSync(path.join(SAMPLES, `${source}.jpg`))
      for (let index = 0; index < ids; index++) {
        const Key = `${bucketPrefix(TENANT_X)}/${imageId(source, index)}`
        await client.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key, Body: body, ContentType: 'image/jpeg' }), timeout())
      }
    }
  } catch (error) {
    client.destroy()
    await server.close()
    throw error
  }
  client.destroy()
  return {
    env: {
      ORIGIN: 's3',
      S3_BUCKET,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_REGION,
      AWS_ACCESS_KEY_ID: S3_KEY,
      AWS_SECRET_ACCESS_KEY: S3_KEY
    },
    close: async () => { await server.close() }
  }
}
