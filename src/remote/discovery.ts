import os from 'node:os'
import { createRequire } from 'node:module'
import type { Logger } from 'pino'
import { request } from 'undici'
import type { AppConfig } from '../config/schema.ts'
import { ConfigError } from '../config/load.ts'
import { DeliveryError } from '../errors.ts'
import { UpstreamStatusError, UpstreamUnreachableError } from './http-client.ts'

/** An instance as the Eureka registry returns it (PROTOCOLS §2.5); only the fields used here. */
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

/** The parts of eureka-js-client 4.5 used here; the package ships no typings. */
interface EurekaClient {
  start: (callback: Callback) => void
  stop: (callback: Callback) => void
  getInstancesByAppId: (app: string) => EurekaInstance[]
  on: (event: string, listener: () => void) => unknown
  readonly instanceId: string | undefined
  metadataClient?: AwsMetadataSource
}

/** The EC2 metadata lookup the client runs for `dataCenterInfo.name: Amazon`. */
export interface AwsMetadataSource {
  fetchMetadata: (callback: (metadata: Record<string, string>) => void) => void
}

const require = createRequire(import.meta.url)
const { Eureka } = require('eureka-js-client') as { Eureka: new (config: object) => EurekaClient }

export interface DiscoveryOptions {
  config: Pick<AppConfig, 'eureka' | 'logic'>
  logger: Logger
  /** The public port this instance listens on. */
  port: number
  /** `POD_IP` for `EUREKA_DATACENTER=k8s`. */
  env?: NodeJS.ProcessEnv
  /** Overrides the detected host name and address (MyOwn data centers). */
  hostName?: string
  ipAddr?: string
  heartbeatIntervalMs?: number
  registryFetchIntervalMs?: number
  /** Delay before trying again when Eureka was unreachable at start. */
  retryStartMs?: number
  /** Replaces the EC2 metadata service (IMDSv2-only hosts, tests). */
  awsMetadata?: AwsMetadataSource
}

/** Picks base URLs of one remote service: a static URL, or the UP instances of a Eureka app. */
export interface ServiceLocator {
  readonly app: string
  /** Base URLs to try in order: the next instance round-robin first, then the others. */
  candidates: () => string[]
}

export interface Discovery {
  /** Registers as UP, starts heartbeats and registry fetches; call once the server listens. */
  start: () => Promise<void>
  /** SPEC §9: the first step of shutdown, so that clients stop picking this instance. */
  markOutOfService: () => Promise<void>
  /** Stops heartbeats and deregisters. */
  stop: () => Promise<void>
  logicManager: () => ServiceLocator
  translator: () => ServiceLocator
}

export function createDiscovery (options: DiscoveryOptions): Discovery {
  const { config, logger } = options
  const eureka = config.eureka
  const log = logger.child({ component: 'eureka' })
  const client = eureka.enabled ? createClient(options) : null
  const servicePath = eureka.servicePath.endsWith('/') ? eureka.servicePath : `${eureka.servicePath}/`
  let registered = false
  let stopped = false
  let retryTimer: NodeJS.Timeout | undefined

  client?.on('registered', () => { registered = true })

  async function attemptStart (eurekaClient: EurekaClient): Promise<void> {
    const error = await new Promise<Error | null>((resolve) => { eurekaClient.start((err) => { resolve(err ?? null) }) })
    if (error === null) {
      log.info({ app: eureka.app, instanceId: eurekaClient.instanceId }, 'registered in Eureka')
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
        attemptStart(eurekaClient).catch((err: unknown) => { log.error({ err }, 'Eureka start failed') })
      }, options.retryStartMs ?? 10000)
      retryTimer.unref()
    }
  }

  function locator (app: string, staticUrl: string | null, variable: string): ServiceLocator {
    if (staticUrl !== null && staticUrl !== '') return staticLocator(app, staticUrl)
    if (client === null) {
      throw new ConfigError(`${variable} must be set when EUREKA_ENABLED is false (LOGIC_SOURCE=remote needs ${app})`)
    }
    return registryLocator(app, client)
  }

  return {
    async start () {
      if (client === null) return
      stopped = false
      await attemptStart(client)
    },
    async markOutOfService () {
      if (client === null || !registered || client.instanceId === undefined) return
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
      if (client === null || !registered) return
      registered = false
      const error = await new Promise<Error | null>((resolve) => { client.stop((err) => { resolve(err ?? null) }) })
      if (error === null) log.info('deregistered from Eureka')
      else log.warn({ err: error }, 'Eureka deregistration failed')
    },
    logicManager: () => locator(eureka.logicManagerApp, config.logic.logicManagerUrl, 'LOGIC_MANAGER_URL'),
    translator: () => locator(eureka.translatorApp, config.logic.translatorUrl, 'TRANSLATOR_URL')
  }
}

function createClient (options: DiscoveryOptions): EurekaClient {
  const { config: { eureka, logic } } = options
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30000
  const client = new Eureka({
    instance: instanceOf(options),
    eureka: {
      host: eureka.host,
      port: eureka.port,
      servicePath: eureka.servicePath,
      heartbeatInterval: heartbeatIntervalMs,
      registryFetchInterval: options.registryFetchIntervalMs ?? 30000,
      // Only needed when a remote service has no static URL.
      fetchRegistry: logic.logicManagerUrl === null || logic.translatorUrl === null,
      filterUpInstances: true,
      // On AWS other services reach us on the VPC address.
      useLocalMetadata: true,
      preferIpAddress: true
    },
    // Delta updates corrupt the client's cache (PROTOCOLS §2.5).
    shouldUseDelta: false,
    logger: clientLogger(options.logger.child({ component: 'eureka-client' })),
    // No eureka-client*.yml from the working directory may change the behaviour.
    cwd: import.meta.dirname,
    filename: 'eureka-client-config-not-used'
  })
  if (options.awsMetadata !== undefined && client.metadataClient !== undefined) client.metadataClient = options.awsMetadata
  return client
}

/** The registration body (PROTOCOLS §2.2) for each EUREKA_DATACENTER. */
function instanceOf (options: DiscoveryOptions): Record<string, unknown> {
  const { config: { eureka }, port } = options
  const vipAddress = eureka.app.toLowerCase()
  const leaseInfo = { renewalIntervalInSecs: Math.max(1, Math.round((options.heartbeatIntervalMs ?? 30000) / 1000)), durationInSecs: 90 }
  const common = {
    app: eureka.app,
    vipAddress,
    secureVipAddress: vipAddress,
    port: { $: port, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    leaseInfo,
    // Turbine reads the stream port from this key (Spring Cloud convention).
    metadata: { 'management.port': String(port) }
  }
  if (eureka.datacenter === 'aws') {
    // The client fills hostName, ipAddr and the metadata from EC2 and replaces __HOST__.
    return {
      ...common,
      homePageUrl: `http://__HOST__:${port}/`,
      statusPageUrl: `http://__HOST__:${port}/healthcheck`,
      healthCheckUrl: `http://__HOST__:${port}/healthcheck`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: {} }
    }
  }
  let hostName = options.hostName ?? os.hostname()
  let ipAddr = options.ipAddr ?? firstIpv4()
  if (eureka.datacenter === 'k8s') {
    const podIp = (options.env ?? process.env).POD_IP
    if (podIp === undefined || podIp === '') throw new ConfigError('POD_IP must be set when EUREKA_DATACENTER is k8s')
    hostName = options.hostName ?? podIp
    ipAddr = options.ipAddr ?? podIp
  }
  return {
    ...common,
    instanceId: `${hostName}:${vipAddress}:${port}`,
    hostName,
    ipAddr,
    homePageUrl: `http://${hostName}:${port}/`,
    statusPageUrl: `http://${hostName}:${port}/healthcheck`,
    healthCheckUrl: `http://${hostName}:${port}/healthcheck`,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' }
  }
}

function firstIpv4 (): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((address) => address.family === 'IPv4' && !address.internal)
    if (found !== undefined) return found.address
  }
  return '127.0.0.1'
}

type LogMethod = (message: string, ...rest: unknown[]) => void

/** eureka-js-client logs `(message, error?)`; pino wants `(object, message)`. */
function clientLogger (logger: Logger): Record<'debug' | 'info' | 'warn' | 'error', LogMethod> {
  const method = (level: 'debug' | 'info' | 'warn' | 'error'): LogMethod => (message, ...rest) => {
    // Logged on every lookup of an app that has no UP instance: the caller reports that itself.
    const effective = message.startsWith('Unable to retrieve instances') ? 'debug' : level
    const detail = rest[0]
    if (detail instanceof Error) logger[effective]({ err: detail }, message)
    else if (detail !== undefined) logger[effective]({ detail }, message)
    else logger[effective](message)
  }
  return { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') }
}

function staticLocator (app: string, url: string): ServiceLocator {
  const base = url.replace(/\/+$/, '')
  return { app, candidates: () => [base] }
}

function registryLocator (app: string, client: EurekaClient): ServiceLocator {
  let next = 0
  return {
    app,
    candidates () {
      const urls = client.getInstancesByAppId(app)
        .filter((instance) => instance.status === 'UP')
        .map(baseUrlOf)
        .filter((url) => url !== null)
      if (urls.length === 0) return []
      const start = next++ % urls.length
      return [...urls.slice(start), ...urls.slice(0, start)]
    }
  }
}

function baseUrlOf (instance: EurekaInstance): string | null {
  const host = instance.ipAddr ?? instance.hostName
  if (host === undefined) return null
  const enabled = (port: EurekaInstance['port']): boolean => port !== undefined && String(port['@enabled']) === 'true'
  if (enabled(instance.port)) return `http://${host}:${String(instance.port?.$)}`
  if (enabled(instance.securePort)) return `https://${host}:${String(instance.securePort?.$)}`
  return null
}

/** Whether another instance might answer: this one was unreachable or answered 5xx. */
export function isRetryable (error: unknown): boolean {
  if (!(error instanceof DeliveryError)) return false
  const cause = error.cause
  return cause instanceof UpstreamUnreachableError || (cause instanceof UpstreamStatusError && cause.status >= 500)
}

/**
 * Runs `attempt` against the next instance; a failure another instance might not have is tried
 * once more on a different instance.
 */
export async function withFailover<T> (locator: ServiceLocator, attempt: (baseUrl: string) => Promise<T>): Promise<T> {
  const [first, second] = locator.candidates()
  if (first === undefined) throw new DeliveryError('DEPENDENCY_UNAVAILABLE', `No instance of ${locator.app} is UP`)
  try {
    return await attempt(first)
  } catch (error) {
    if (second === undefined || !isRetryable(error)) throw error
    return await attempt(second)
  }
}
