import { createRequire } from 'node:module'

/** An instance as the client's copy of the registry holds it; only the fields used here. */
export interface EurekaInstance {
  app: string
  instanceId?: string
  hostName?: string
  ipAddr?: string
  status?: string
  port?: { $: number | string, '@enabled'?: string | boolean }
  securePort?: { $: number | string, '@enabled'?: string | boolean }
}

type Callback = (error?: Error | null) => void

/** The EC2 metadata lookup the client runs for `dataCenterInfo.name: Amazon`. */
export interface AwsMetadataSource {
  fetchMetadata: (callback: (metadata: Record<string, string>) => void) => void
}

/** The parts of eureka-js-client 4.5 used here; the package ships no typings. */
export interface EurekaClient {
  start: (callback: Callback) => void
  stop: (callback: Callback) => void
  getInstancesByAppId: (app: string) => EurekaInstance[]
  on: (event: string, listener: () => void) => unknown
  readonly instanceId: string | undefined
  metadataClient?: AwsMetadataSource
}

/** What discovery reads: the client's copy of the registry, refreshed by its registry fetches. */
export type Registry = Pick<EurekaClient, 'getInstancesByAppId'>

const require = createRequire(import.meta.url)
export const { Eureka } = require('eureka-js-client') as { Eureka: new (config: object) => EurekaClient }
