import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager'
import { awsClientConfig, type AwsClientSettings } from './client-config.ts'

/** The SDK also honours AWS_ENDPOINT_URL_SECRETS_MANAGER from the environment. */
export type SecretsManagerClientSettings = AwsClientSettings<NonNullable<SecretsManagerClientConfig['credentials']>>

/**
 * One client for the process. A re-read is repeated on the next poll anyway, so a couple of quick
 * attempts is enough; the timeouts keep a stuck connection from holding the start-up.
 */
export function createSecretsManagerClient (settings: SecretsManagerClientSettings): SecretsManagerClient {
  return new SecretsManagerClient({
    ...awsClientConfig(settings),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 5000, throwOnRequestTimeout: true }
  })
}
