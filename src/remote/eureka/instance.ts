import os from 'node:os'
import { ConfigError } from '../../config/load.ts'
import type { AppConfig } from '../../config/schema.ts'

export interface InstanceOptions {
  eureka: Pick<AppConfig['eureka'], 'app' | 'datacenter'>
  /** The public port this instance listens on. */
  port: number
  /** The heartbeat interval: Eureka's lease renewal interval. */
  heartbeatIntervalMs: number
  /** `POD_IP` for `EUREKA_DATACENTER=k8s`. */
  env?: NodeJS.ProcessEnv
  /** Overrides the detected host name and address (MyOwn data centers). */
  hostName?: string
  ipAddr?: string
}

/** The instance this service registers, for each EUREKA_DATACENTER (local, aws, k8s). */
export function instanceOf (options: InstanceOptions): Record<string, unknown> {
  const { eureka, port } = options
  const vipAddress = eureka.app.toLowerCase()
  const common = {
    app: eureka.app,
    vipAddress,
    secureVipAddress: vipAddress,
    port: { $: port, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    leaseInfo: { renewalIntervalInSecs: Math.max(1, Math.round(options.heartbeatIntervalMs / 1000)), durationInSecs: 90 },
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
  const { hostName, ipAddr } = addressOf(options)
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

/** A MyOwn data center's address: the machine's, or on k8s the pod's. */
function addressOf (options: InstanceOptions): { hostName: string, ipAddr: string } {
  if (options.eureka.datacenter !== 'k8s') {
    return { hostName: options.hostName ?? os.hostname(), ipAddr: options.ipAddr ?? firstIpv4() }
  }
  const podIp = (options.env ?? process.env).POD_IP
  if (podIp === undefined || podIp === '') throw new ConfigError('POD_IP must be set when EUREKA_DATACENTER is k8s')
  return { hostName: options.hostName ?? podIp, ipAddr: options.ipAddr ?? podIp }
}

function firstIpv4 (): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((address) => address.family === 'IPv4' && !address.internal)
    if (found !== undefined) return found.address
  }
  return '127.0.0.1'
}
