import type { AppConfig } from '../config/schema.ts'
import { createRegistration, type RegistrationOptions } from './eureka/registration.ts'
import { locatorFor, type ServiceLocator } from './locators.ts'

export type { AwsMetadataSource, EurekaInstance } from './eureka/client-types.ts'
export { isRetryable, withFailover } from './failover.ts'
export type { ServiceLocator } from './locators.ts'

/*
 * Eureka for this service, the one entry the rest of the code imports: registering this instance
 * (eureka/), finding the remote services (locators.ts) and trying another instance when one fails
 * (failover.ts).
 */

export interface DiscoveryOptions extends Omit<RegistrationOptions, 'eureka' | 'fetchRegistry'> {
  config: Pick<AppConfig, 'eureka' | 'logic'>
}

export interface Discovery {
  /** Registers as UP, starts heartbeats and registry fetches; call once the server listens. */
  start: () => Promise<void>
  /** The first step of shutdown, so that clients stop picking this instance. */
  markOutOfService: () => Promise<void>
  /** Stops heartbeats and deregisters. */
  stop: () => Promise<void>
  logicManager: () => ServiceLocator
  translator: () => ServiceLocator
}

export function createDiscovery (options: DiscoveryOptions): Discovery {
  const { config: { eureka, logic }, ...rest } = options
  const registration = eureka.enabled
    ? createRegistration({ ...rest, eureka, fetchRegistry: logic.logicManagerUrl === null || logic.translatorUrl === null })
    : null
  const registry = registration?.registry ?? null
  return {
    start: async () => { await registration?.start() },
    markOutOfService: async () => { await registration?.markOutOfService() },
    stop: async () => { await registration?.stop() },
    logicManager: () => locatorFor({ app: eureka.logicManagerApp, staticUrl: logic.logicManagerUrl, variable: 'LOGIC_MANAGER_URL' }, registry),
    translator: () => locatorFor({ app: eureka.translatorApp, staticUrl: logic.translatorUrl, variable: 'TRANSLATOR_URL' }, registry)
  }
}
