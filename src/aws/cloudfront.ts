import { CloudFrontClient, CreateInvalidationCommand, type CloudFrontClientConfig } from '@aws-sdk/client-cloudfront'

export interface CloudFrontSettings {
  /** CloudFront is global; the SDK still needs a region to sign with. */
  region: string
  /** CDN_DISTRIBUTION_ID. */
  distributionId: string
  /** A CloudFront-compatible endpoint (tests); AWS's own when absent. */
  endpoint?: string
  /** Static keys (tests); the default provider chain when absent. */
  credentials?: NonNullable<CloudFrontClientConfig['credentials']>
  /** Attempts per call including the first (throttling and 5xx are retried with backoff). */
  maxAttempts?: number
  requestTimeoutMs?: number
}

export interface CloudFrontInvalidator {
  provider: 'cloudfront'
  invalidate: (paths: readonly string[], reference: string) => Promise<{ invalidationId: string }>
  close: () => void
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10000

/**
 * CreateInvalidation on one distribution. The caller reference is the purge id: CloudFront
 * answers a retried call with the same reference and paths with the first invalidation instead
 * of creating another.
 */
export function createCloudFrontInvalidator (settings: CloudFrontSettings): CloudFrontInvalidator {
  const client = new CloudFrontClient({
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
    maxAttempts: settings.maxAttempts ?? 3,
    requestHandler: { requestTimeout: settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true }
  })
  return {
    provider: 'cloudfront',
    async invalidate (paths, reference) {
      const answer = await client.send(new CreateInvalidationCommand({
        DistributionId: settings.distributionId,
        InvalidationBatch: { CallerReference: reference, Paths: { Quantity: paths.length, Items: [...paths] } }
      }))
      const id = answer.Invalidation?.Id
      if (id === undefined) throw new Error('CloudFront answered CreateInvalidation without an invalidation id')
      return { invalidationId: id }
    },
    close () { client.destroy() }
  }
}
