import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'

/**
 * Secrets Manager's JSON protocol on 127.0.0.1, enough for GetSecretValue: `POST /` with
 * `X-Amz-Target: secretsmanager.GetSecretValue`, `Content-Type: application/x-amz-json-1.1`, a
 * SigV4 `Authorization` for the `secretsmanager` service, and AWS's error shape (`__type`).
 */
export interface FakeSecretsManager {
  endpoint: string
  /** Stores a new AWSCURRENT version of the secret (a rotation). */
  put: (secretId: string, secretString: string) => void
  /** Answers the next `count` calls with this error instead of the secret. */
  failNext: (count: number, status?: number, type?: string) => void
  /** Every GetSecretValue call so far, in order. */
  calls: Array<{ secretId: string }>
  /** Resolves at the next call that reaches the server (a background poll), before its answer. */
  nextCall: () => Promise<void>
  /** An SDK client for this server, with static test credentials. */
  newClient: () => SecretsManagerClient
  close: () => Promise<void>
}

const REGION = 'eu-west-1'

export async function startFakeSecretsManager (): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { versionId: string, secretString: string, created: number }>()
  const calls: FakeSecretsManager['calls'] = []
  let failures: { count: number, status: number, type: string } = { count: 0, status: 500, type: 'InternalServiceError' }
  let waiters: Array<() => void> = []
  let version = 0

  function reply (response: http.ServerResponse, status: number, body: unknown, type?: string): void {
    response.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': `req-${calls.length}`,
      ...(type === undefined ? {} : { 'x-amzn-errortype': type })
    })
    response.end(JSON.stringify(body))
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const target = request.headers['x-amz-target']
      if (request.method !== 'POST' || request.url !== '/' || request.headers['content-type'] !== 'application/x-amz-json-1.1') {
        reply(response, 400, { __type: 'SerializationException', Message: 'expected POST / with application/x-amz-json-1.1' }, 'SerializationException')
        return
      }
      if (!/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/secretsmanager\/aws4_request/.test(request.headers.authorization ?? '')) {
        reply(response, 400, { __type: 'IncompleteSignatureException', Message: 'missing SigV4 signature for secretsmanager' }, 'IncompleteSignatureException')
        return
      }
      if (target !== 'secretsmanager.GetSecretValue') {
        reply(response, 400, { __type: 'UnknownOperationException', Message: `unsupported ${String(target)}` }, 'UnknownOperationException')
        return
      }
      const { SecretId: secretId } = JSON.parse(Buffer.concat(chunks).toString()) as { SecretId: string }
      calls.push({ secretId })
      const woken = waiters
      waiters = []
      for (const wake of woken) wake()
      if (failures.count > 0) {
        failures.count--
        reply(response, failures.status, { __type: failures.type, Message: 'injected failure' }, failures.type)
        return
      }
      const secret = secrets.get(secretId)
      if (secret === undefined) {
        reply(response, 400, { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." }, 'ResourceNotFoundException')
        return
      }
      reply(response, 200, {
        ARN: `arn:aws:secretsmanager:${REGION}:000000000000:secret:${secretId}-AbCdEf`,
        Name: secretId,
        VersionId: secret.versionId,
        SecretString: secret.secretString,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.created
      })
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    endpoint,
    calls,
    put (secretId, secretString) {
      version++
      secrets.set(secretId, { versionId: `00000000-0000-4000-8000-${String(version).padStart(12, '0')}`, secretString, created: Date.now() / 1000 })
    },
    failNext (count, status = 500, type = 'InternalServiceError') {
      failures = { count, status, type }
    },
    nextCall: async () => { await new Promise<void>((resolve) => { waiters.push(resolve) }) },
    newClient: () => new SecretsManagerClient({
      region: REGION,
      endpoint,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-access-key' },
      maxAttempts: 1
    }),
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve, reject) => { server.close((error) => { if (error === undefined) resolve(); else reject(error) }) })
    }
  }
}
