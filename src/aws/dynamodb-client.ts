import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb'
import { awsClientConfig, type AwsClientSettings } from './client-config.ts'

/** `endpoint` is DYNAMODB_ENDPOINT (dynalite, DynamoDB Local). */
export type DynamoDbClientSettings = AwsClientSettings<NonNullable<DynamoDBClientConfig['credentials']>>

export function createDynamoDbClient (settings: DynamoDbClientSettings): DynamoDBClient {
  return new DynamoDBClient({
    ...awsClientConfig(settings),
    // A poll repeats anyway; a couple of quick retries is enough, then the next poll tries again.
    maxAttempts: 2
  })
}
