import http from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * CloudFront's REST/XML CreateInvalidation (API 2020-05-31) on loopback, enough for the real
 * `@aws-sdk/client-cloudfront`: `POST /2020-05-31/distribution/{Id}/invalidation` with an
 * `InvalidationBatch` body, answered 201 with a `Location` and the `Invalidation`. Like CloudFront,
 * a repeated CallerReference with the same paths gets the first invalidation back, and with other
 * paths a 409. Modes make it fail as CloudFront does: `denied` (403 AccessDenied) and
 * `unavailable` (503 ServiceUnavailable, which the SDK retries).
 */

export type FakeCloudFrontMode = 'ok' | 'denied' | 'unavailable'

export interface ReceivedInvalidation {
  distributionId: string
  callerReference: string
  quantity: number
  paths: string[]
  headers: IncomingHttpHeaders
}

export interface FakeCloudFront {
  /** `http://127.0.0.1:<port>`, the client's `endpoint`. */
  endpoint: string
  /** Every CreateInvalidation received, failed ones included. */
  requests: ReceivedInvalidation[]
  setMode: (mode: FakeCloudFrontMode) => void
  close: () => Promise<void>
}

const NAMESPACE = 'http://cloudfront.amazonaws.com/doc/2020-05-31/'
const ROUTE = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation$/

function unescapeXml (text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_match, name: string) => ({ lt: '<', gt: '>', quot: '"', apos: '\'', amp: '&' })[name] ?? '')
}

function escapeXml (text: string): string {
  return text.replace(/[<>&'"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '\'': '&apos;', '"': '&quot;' })[char] ?? char)
}

/** The batch from the body; null when it is not an InvalidationBatch. */
function parseBatch (xml: string): { callerReference: string, quantity: number, paths: string[] } | null {
  const batch = /<InvalidationBatch[^>]*>([\s\S]*)<\/InvalidationBatch>/.exec(xml)?.[1]
  if (batch === undefined) return null
  const callerReference = /<CallerReference>([\s\S]*?)<\/CallerReference>/.exec(batch)?.[1]
  const quantity = /<Paths>\s*<Quantity>(\d+)<\/Quantity>/.exec(batch)?.[1]
  if (callerReference === undefined || quantity === undefined) return null
  const paths = [...batch.matchAll(/<Path>([\s\S]*?)<\/Path>/g)].map((match) => unescapeXml(match[1] ?? ''))
  return { callerReference: unescapeXml(callerReference), quantity: Number(quantity), paths }
}

function errorXml (type: 'Sender' | 'Receiver', code: string, message: string): string {
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${type}</Type><Code>${code}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>fake-request-id</RequestId></ErrorResponse>`
}

function invalidationXml (id: string, created: string, batch: { callerReference: string, paths: string[] }): string {
  const items = batch.paths.map((item) => `<Path>${escapeXml(item)}</Path>`).join('')
  return `<?xml version="1.0"?>\n<Invalidation xmlns="${NAMESPACE}"><Id>${id}</Id><Status>InProgress</Status><CreateTime>${created}</CreateTime>` +
    `<InvalidationBatch><Paths><Quantity>${batch.paths.length}</Quantity><Items>${items}</Items></Paths>` +
    `<CallerReference>${escapeXml(batch.callerReference)}</CallerReference></InvalidationBatch></Invalidation>`
}

export async function startFakeCloudFront (options: { distributionId: string }): Promise<FakeCloudFront> {
  let mode: FakeCloudFrontMode = 'ok'
  let counter = 0
  const requests: ReceivedInvalidation[] = []
  const byReference = new Map<string, { id: string, created: string, paths: string[] }>()

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
        response.writeHead(status, { 'content-type': 'text/xml', 'x-amz-request-id': 'fake-request-id', ...headers }).end(body)
      }
      const distributionId = ROUTE.exec(request.url ?? '')?.[1]
      if (request.method !== 'POST' || distributionId === undefined) {
        reply(404, errorXml('Sender', 'NotFound', `${String(request.method)} ${String(request.url)}`))
        return
      }
      const batch = parseBatch(Buffer.concat(chunks).toString('utf8'))
      if (batch === null) {
        reply(400, errorXml('Sender', 'MalformedInput', 'The body is not an InvalidationBatch'))
        return
      }
      requests.push({ distributionId, ...batch, headers: request.headers })
      if (!/^AWS4-HMAC-SHA256 /.test(request.headers.authorization ?? '')) {
        reply(403, errorXml('Sender', 'MissingAuthenticationToken', 'The request is not signed'))
        return
      }
      if (mode === 'denied') {
        reply(403, errorXml('Sender', 'AccessDenied', 'User is not authorized to perform: cloudfront:CreateInvalidation'))
        return
      }
      if (mode === 'unavailable') {
        reply(503, errorXml('Receiver', 'ServiceUnavailable', 'CloudFront is unavailable'))
        return
      }
      if (distributionId !== options.distributionId) {
        reply(404, errorXml('Sender', 'NoSuchDistribution', 'The specified distribution does not exist.'))
        return
      }
      if (batch.quantity !== batch.paths.length || batch.paths.some((item) => !item.startsWith('/'))) {
        reply(400, errorXml('Sender', 'InvalidArgument', 'Quantity must match the paths, and each path must start with /'))
        return
      }
      let invalidation = byReference.get(batch.callerReference)
      if (invalidation !== undefined && invalidation.paths.join('\n') !== batch.paths.join('\n')) {
        reply(409, errorXml('Sender', 'InvalidationBatchAlreadyExists', 'The CallerReference was used with other paths'))
        return
      }
      invalidation ??= { id: `I${String(++counter).padStart(13, '0')}`, created: new Date().toISOString(), paths: batch.paths }
      byReference.set(batch.callerReference, invalidation)
      const location = `https://cloudfront.amazonaws.com/2020-05-31/distribution/${distributionId}/invalidation/${invalidation.id}`
      reply(201, invalidationXml(invalidation.id, invalidation.created, batch), { location })
    })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    setMode: (next) => { mode = next },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}
