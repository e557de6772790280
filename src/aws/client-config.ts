/** What every AWS client of the service is given: the region, an optional endpoint, optional keys. */
export interface AwsClientSettings<Credentials> {
  /** S3_REGION: the service's one AWS region. */
  region: string
  /** An AWS-compatible server (s3rver, dynalite, a fixture); AWS's own endpoint when null or absent. */
  endpoint?: string | null | undefined
  /** Static keys (local stack, tests); the SDK's default provider chain (env, profile, IMDS, IRSA) when absent. */
  credentials?: Credentials | undefined
}

/** The part of an SDK client's configuration those settings decide; absent values stay absent. */
export function awsClientConfig<Credentials> (settings: AwsClientSettings<Credentials>): { region: string, endpoint?: string, credentials?: Credentials } {
  return {
    region: settings.region,
    ...(settings.endpoint == null ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials })
  }
}
