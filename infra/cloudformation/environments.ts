// What differs between the AWS environments. Everything timing-related is derived from these values
// in stack.ts, so the load balancer, the auto-scaling group and the service agree on one shutdown story.

export const ENVIRONMENTS = ['pre', 'pro'] as const
export type Environment = typeof ENVIRONMENTS[number]

export interface EnvironmentSettings {
  instanceType: string
  minSize: number
  maxSize: number
  desiredCapacity: number
  // Average CPU the group scales around: transformations are CPU-bound, so CPU is the load signal.
  targetCpuPercent: number
  // SHUTDOWN_DRAIN_MS / SHUTDOWN_TIMEOUT_MS given to the service on the instances.
  shutdownDrainMs: number
  shutdownTimeoutMs: number
  logLevel: 'info' | 'debug' | 'warn'
  // Protect what cannot be rebuilt from code in production (ALB deletion, table point-in-time recovery).
  protectData: boolean
  // CloudFront edge locations served (PriceClass_100: North America and Europe only).
  cdnPriceClass: 'PriceClass_100' | 'PriceClass_200' | 'PriceClass_All'
  // Days between automatic rotations of the service's secret (SIGNING_KEYS, ADMIN_TOKEN).
  secretRotationDays: number
}

export const SETTINGS: Record<Environment, EnvironmentSettings> = {
  pre: {
    instanceType: 'c7i.large',
    minSize: 1,
    maxSize: 3,
    desiredCapacity: 1,
    targetCpuPercent: 60,
    // At least the ALB's unhealthy window (interval x threshold, see stack.ts): a restart that is not
    // preceded by a deregistration (an RPM upgrade) still stops receiving traffic before the listener closes.
    shutdownDrainMs: 10000,
    shutdownTimeoutMs: 25000,
    logLevel: 'debug',
    protectData: false,
    cdnPriceClass: 'PriceClass_100',
    secretRotationDays: 30
  },
  pro: {
    instanceType: 'c7i.xlarge',
    minSize: 3,
    maxSize: 12,
    desiredCapacity: 3,
    targetCpuPercent: 55,
    shutdownDrainMs: 10000,
    shutdownTimeoutMs: 25000,
    logLevel: 'info',
    protectData: true,
    cdnPriceClass: 'PriceClass_All',
    secretRotationDays: 30
  }
}

export function isEnvironment (value: string): value is Environment {
  return (ENVIRONMENTS as readonly string[]).includes(value)
}
