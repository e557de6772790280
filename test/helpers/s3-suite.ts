import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before } from 'node:test'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import sharp from 'sharp'
import { startS3Server, type S3Server } from '../../scripts/peers/s3-server.ts'

export interface S3Suite {
  /** The S3 server of the suite (started in `before`). */
  readonly s3: S3Server
  /** A logic file allowing ad-hoc transformations on bucket t/d/b. */
  readonly logicFile: string
  /** A solid-colour JPEG. */
  jpeg: (width: number, height: number) => Promise<Buffer>
  /** Puts an original of bucket t/d/b into the originals bucket, under the key prefix. */
  upload: (imageId: string, bytes: Buffer) => Promise<void>
}

/** One S3 server and one logic file for a whole test file, started before and removed after it. */
export function useS3Suite (options: { buckets: string[], originals: string, keyPrefix?: string, colour: string }): S3Suite {
  let s3: S3Server | undefined
  let workDir = ''
  before(async () => {
    s3 = await startS3Server({ buckets: options.buckets })
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'delivery-images-s3-'))
    await fs.writeFile(path.join(workDir, 'logic.json'), JSON.stringify({ buckets: { 't/d/b': { adHoc: 'allow' } } }))
  })
  after(async () => {
    await s3?.close()
    await fs.rm(workDir, { recursive: true, force: true })
  })
  const server = (): S3Server => {
    if (s3 === undefined) throw new Error('the S3 server starts in before()')
    return s3
  }
  return {
    get s3 () { return server() },
    get logicFile () { return path.join(workDir, 'logic.json') },
    jpeg: async (width, height) => await sharp({ create: { width, height, channels: 3, background: options.colour } }).jpeg().toBuffer(),
    async upload (imageId, bytes) {
      const key = `${options.keyPrefix ?? ''}t/d/b/${imageId}`
      await server().client.send(new PutObjectCommand({ Bucket: options.originals, Key: key, Body: bytes, ContentType: 'image/jpeg' }))
    }
  }
}
