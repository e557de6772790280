import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager'

export interface SecretsManagerClientSettings {
  /** S3_REGION: the service's one AWS region. */
  region: string
  /**
   * A Secrets Manager-compatible endpoint (tests); AWS's own when absent. The SDK also honours
   * AWS_ENDPOINT_URL_SECRETS_MANAGER from the environment.
   */
  endpoint?: string | null
  /** Static keys (tests); the default provider chain (env, profile, IMDS, IRSA) when absent. */
  credentials?: NonNullable<SecretsManagerClientConfig['credentials']>
}

/**
 * One client for the process. A re-read is repeated on the next poll anyway, so a couple of quick
 * attempts is enough; the timeouts keep a stuck connection from holding the start-up.
 */
export function createSecretsManagerClient (settings: SecretsManagerClientSettings): SecretsManagerClient {
  return new SecretsManagerClient({
    region: settings.region,
    ...(settings.endpoint == null ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 5000, throwOnRequestTimeout: true }
  })
}
