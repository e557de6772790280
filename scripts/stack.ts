// `npm run stack`: a local S3 (s3rver on loopback) holding the sample originals and an empty
// transformed-image cache bucket, for running the service with ORIGIN=s3 without AWS.
import fs from 'node:fs/promises'
import path from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { S3RVER_CREDENTIALS, S3RVER_REGION, startS3Server } from '../test/helpers/s3-server.ts'

const ORIGINALS_BUCKET = 'delivery-images-originals'
const CACHE_BUCKET = 'delivery-images-cache'
const PORT = Number(process.env.STACK_S3_PORT ?? 4568)
const originalsDir = path.resolve(import.meta.dirname, '../data/originals')

const s3 = await startS3Server({ buckets: [ORIGINALS_BUCKET, CACHE_BUCKET], port: PORT })

// Same key layout as the folder origin: <tenant>/<domain>/<bucket>/<imageId>, i.e. the relative path.
const entries = await fs.readdir(originalsDir, { recursive: true, withFileTypes: true })
const files = entries
  .filter((entry) => entry.isFile() && path.relative(originalsDir, entry.parentPath) !== '')
  .map((entry) => path.relative(originalsDir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
for (const key of files) {
  await s3.client.send(new PutObjectCommand({ Bucket: ORIGINALS_BUCKET, Key: key, Body: await fs.readFile(path.join(originalsDir, key)) }))
}

const env = {
  ORIGIN: 's3',
  S3_BUCKET: ORIGINALS_BUCKET,
  S3_REGION: S3RVER_REGION,
  S3_ENDPOINT: s3.endpoint,
  S3_FORCE_PATH_STYLE: 'true',
  CACHE_S3_BUCKET: CACHE_BUCKET,
  // s3rver's fixed account, read by the SDK's default credential chain.
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey
}
const sample = files.find((key) => key.endsWith('.jpg')) ?? files[0]
process.stdout.write([
  `S3 server on ${s3.endpoint}: ${files.length} originals in s3://${ORIGINALS_BUCKET}, cache bucket s3://${CACHE_BUCKET}`,
  ...files.map((key) => `  ${key}`),
  '',
  'Run the service against it (in another terminal):',
  '',
  `  ${Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ')} npm start`,
  '',
  ...(sample === undefined
    ? []
    : [`Then: curl -i 'http://127.0.0.1:8080/tenants/${sample.replace(/^([^/]+)\/([^/]+)\/([^/]+)\//, '$1/domains/$2/buckets/$3/images/')}?w=400'`, '']),
  'Ctrl-C stops the S3 server and deletes its files.',
  ''
].join('\n'))

let stopping = false
async function stop (): Promise<void> {
  if (stopping) process.exit(130)
  stopping = true
  await s3.close()
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
