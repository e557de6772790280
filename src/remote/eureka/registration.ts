import type { Logger } from 'pino'
import { request } from 'undici'
import type { AppConfig } from '../../config/schema.ts'
import { Eureka, type AwsMetadataSource, type EurekaClient, type Registry } from './client-types.ts'
import { instanceOf, type InstanceOptions } from './instance.ts'
import { clientLogger } from './logger.ts'

export interface RegistrationOptions extends Omit<InstanceOptions, 'eureka' | 'heartbeatIntervalMs'> {
  eureka: AppConfig['eureka']
  logger: Logger
  /** Whether the client fetches the registry: only needed when a remote service has no static URL. */
  fetchRegistry: boolean
  heartbeatIntervalMs?: number
  registryFetchIntervalMs?: number
  /** Delay before trying again when Eureka was unreachable at start. */
  retryStartMs?: number
  /** Replaces the EC2 metadata service (IMDSv2-only hosts, tests). */
  awsMetadata?: AwsMetadataSource
}

/** This instance in Eureka, and the client's copy of the registry. */
export interface Registration {
  /** Registers as UP, starts heartbeats and registry fetches; retried until Eureka answers. */
  start: () => Promise<void>
  markOutOfService: () => Promise<void>
  /** Stops heartbeats and deregisters. */
  stop: () => Promise<void>
  readonly registry: Registry
}

export function createRegistration (options: RegistrationOptions): Registration {
  const { eureka } = options
  const log = options.logger.child({ component: 'eureka' })
  const client = createClient(options)
  const servicePath = eureka.servicePath.endsWith('/') ? eureka.servicePath : `${eureka.servicePath}/`
  let registered = false
  let stopped = false
  let retryTimer: NodeJS.Timeout | undefined

  client.on('registered', () => { registered = true })

  async function attemptStart (): Promise<void> {
    const error = await new Promise<Error | null>((resolve) => { client.start((err) => { resolve(err ?? null) }) })
    if (error === null) {
      log.info({ app: eureka.app, instanceId: client.instanceId }, 'registered in Eureka')
      return
    }
    if (registered) {
      // Heartbeats and registry fetches are running; the next fetch will fill the registry.
      log.warn({ err: error }, 'first Eureka registry fetch failed')
      return
    }
    // The client starts nothing after a failed registration: start again until Eureka answers.
    log.error({ err: error }, 'Eureka registration failed, retrying')
    if (!stopped) {
      retryTimer = setTimeout(() => {
        attemptStart().catch((err: unknown) => { log.error({ err }, 'Eureka start failed') })
      }, options.retryStartMs ?? 10000)
      retryTimer.unref()
    }
  }

  return {
    registry: client,
    async start () {
      stopped = false
      await attemptStart()
    },
    async markOutOfService () {
      if (!registered || client.instanceId === undefined) return
      const url = `http://${eureka.host}:${eureka.port}${servicePath}${eureka.app}/${client.instanceId}/status?value=OUT_OF_SERVICE`
      try {
        const response = await request(url, { method: 'PUT', signal: AbortSignal.timeout(2000) })
        await response.body.dump()
        if (response.statusCode !== 200) throw new Error(`Eureka answered ${response.statusCode}`)
        log.info('marked OUT_OF_SERVICE in Eureka')
      } catch (error) {
        log.warn({ err: error }, 'could not mark OUT_OF_SERVICE in Eureka')
      }
    },
    async stop () {
      stopped = true
      clearTimeout(retryTimer)
      if (!registered) return
      registered = false
      const error = await new Promise<Error | null>((resolve) => { client.stop((err) => { resolve(err ?? null) }) })
      if (error === null) log.info('deregistered from Eureka')
      else log.warn({ err: error }, 'Eureka deregistration failed')
    }
  }
}

function createClient (options: RegistrationOptions): EurekaClient {
  const { eureka } = options
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30000
  const client = new Eureka({
    instance: instanceOf({ ...options, heartbeatIntervalMs }),
    eureka: {
      host: eureka.host,
      port: eureka.port,
      servicePath: eureka.servicePath,
      heartbeatInterval: heartbeatIntervalMs,
      registryFetchInterval: options.registryFetchIntervalMs ?? 30000,
      fetchRegistry: options.fetchRegistry,
      filterUpInstances: true,
      // On AWS other services reach us on the VPC address.
      useLocalMetadata: true,
      preferIpAddress: true
    },
    // Delta updates corrupt the client's copy of the registry.
    shouldUseDelta: false,
    logger: clientLogger(options.logger.child({ component: 'eureka-client' })),
    // No eureka-client*.yml from the working directory may change the behaviour.
    cwd: import.meta.dirname,
    filename: 'eureka-client-config-not-used'
  })
  if (options.awsMetadata !== undefined && client.metadataClient !== undefined) client.metadataClient = options.awsMetadata
  return client
}
