// `npm run stack`: the production setup on loopback, without AWS or the remote services.
// - an S3 server (s3rver) holding the sample originals, and an empty transformed-image cache bucket;
// - a Eureka server with a logic manager and a translator registered (fixtures speaking the real
//   protocols) serving the logic of config/local-logic.json.
// It prints the variables that run the service against all of it (ORIGIN=s3, LOGIC_SOURCE=remote).
import fs from 'node:fs/promises'
import path from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { createFileLogic } from '../src/logic/file-logic.ts'
import { S3RVER_CREDENTIALS, S3RVER_REGION, startS3Server } from './peers/s3-server.ts'
import { startFakeEureka } from './peers/fake-eureka.ts'
import { startFakeLogicManager } from './peers/fake-logic-manager.ts'

const ORIGINALS_BUCKET = 'delivery-images-originals'
const CACHE_BUCKET = 'delivery-images-cache'
const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback)
const originalsDir = path.resolve(import.meta.dirname, '../data/originals')
const logicFile = path.resolve(import.meta.dirname, '../config/local-logic.json')

const s3 = await startS3Server({ buckets: [ORIGINALS_BUCKET, CACHE_BUCKET], port: port('STACK_S3_PORT', 4568) })
// Same key layout as the folder origin: <tenant>/<domain>/<bucket>/<imageId>, i.e. the relative path.
const entries = await fs.readdir(originalsDir, { recursive: true, withFileTypes: true })
const files = entries
  .filter((entry) => entry.isFile() && path.relative(originalsDir, entry.parentPath) !== '')
  .map((entry) => path.relative(originalsDir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
for (const key of files) {
  await s3.client.send(new PutObjectCommand({ Bucket: ORIGINALS_BUCKET, Key: key, Body: await fs.readFile(path.join(originalsDir, key)) }))
}

const backend = createFileLogic(logicFile)
const eureka = await startFakeEureka({ port: port('STACK_EUREKA_PORT', 8761) })
const logicManager = await startFakeLogicManager({ backend, port: port('STACK_LOGIC_MANAGER_PORT', 8091) })
const translator = await startFakeLogicManager({ backend, port: port('STACK_TRANSLATOR_PORT', 8092) })
eureka.add({ app: 'LOGIC-MANAGER', port: logicManager.port })
eureka.add({ app: 'TRANSLATOR', port: translator.port })

const env = {
  ORIGIN: 's3',
  S3_BUCKET: ORIGINALS_BUCKET,
  S3_REGION: S3RVER_REGION,
  S3_ENDPOINT: s3.endpoint,
  S3_FORCE_PATH_STYLE: 'true',
  CACHE_S3_BUCKET: CACHE_BUCKET,
  // s3rver's fixed account, read by the SDK's default credential chain.
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  LOGIC_SOURCE: 'remote',
  EUREKA_ENABLED: 'true',
  EUREKA_HOST: '127.0.0.1',
  EUREKA_PORT: String(eureka.port)
}
process.stdout.write([
  `S3 server on ${s3.endpoint}: ${files.length} originals in s3://${ORIGINALS_BUCKET}, cache bucket s3://${CACHE_BUCKET}`,
  `Eureka on ${eureka.url} with LOGIC-MANAGER (${logicManager.url}) and TRANSLATOR (${translator.url}),`,
  `serving ${path.relative(process.cwd(), logicFile)}`,
  '',
  'Run the service against it (in another terminal):',
  '',
  `  ${Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ')} npm start`,
  '',
  'Then:',
  '  curl -i \'http://127.0.0.1:8080/tenants/demo/domains/news/buckets/photos/images/kleiber.jpg?w=400\'',
  '  curl -i \'http://127.0.0.1:8080/news-photos/images/raindrops.jpg?rule=thumb\'',
  '  curl -N http://127.0.0.1:8080/hystrix.stream',
  'Make a fixture misbehave (mode ok|slow|fail|garbage; kind logic|watermark|alias|all):',
  `  curl -X PUT ${logicManager.url}/_fixture/behaviour -d '{"kind":"logic","mode":"slow","delayMs":3000}'`,
  '',
  'Ctrl-C stops everything and deletes the S3 files.',
  ''
].join('\n'))

let stopping = false
async function stop (): Promise<void> {
  if (stopping) process.exit(130)
  stopping = true
  await Promise.all([s3.close(), eureka.close(), logicManager.close(), translator.close()])
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
