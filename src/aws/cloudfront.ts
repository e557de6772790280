import { CloudFrontClient, CreateInvalidationCommand, type CloudFrontClientConfig } from '@aws-sdk/client-cloudfront'
import { awsClientConfig, type AwsClientSettings } from './client-config.ts'

/** CloudFront is global; the SDK still needs a region to sign with. */
export interface CloudFrontSettings extends AwsClientSettings<NonNullable<CloudFrontClientConfig['credentials']>> {
  /** CDN_DISTRIBUTION_ID. */
  distributionId: string
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
    ...awsClientConfig(settings),
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
