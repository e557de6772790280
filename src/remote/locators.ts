import { ConfigError } from '../config/load.ts'
import type { EurekaInstance, Registry } from './eureka/client-types.ts'

/** Picks base URLs of one remote service: a static URL, or the UP instances of a Eureka app. */
export interface ServiceLocator {
  readonly app: string
  /** Base URLs to try in order: the next instance round-robin first, then the others. */
  candidates: () => string[]
}

export interface LocatorSource {
  /** The service's Eureka app. */
  app: string
  /** Its configured base URL, which skips the registry; null or empty for none. */
  staticUrl: string | null
  /** The variable that sets `staticUrl`, named when neither it nor Eureka is there. */
  variable: string
}

/** The static URL when one is set, else the registry (`null` when Eureka is off). */
export function locatorFor ({ app, staticUrl, variable }: LocatorSource, registry: Registry | null): ServiceLocator {
  if (staticUrl !== null && staticUrl !== '') return staticLocator(app, staticUrl)
  if (registry === null) {
    throw new ConfigError(`${variable} must be set when EUREKA_ENABLED is false (LOGIC_SOURCE=remote needs ${app})`)
  }
  return registryLocator(app, registry)
}

function staticLocator (app: string, url: string): ServiceLocator {
  const base = url.replace(/\/+$/, '')
  return { app, candidates: () => [base] }
}

function registryLocator (app: string, registry: Registry): ServiceLocator {
  let next = 0
  return {
    app,
    candidates () {
      const urls = registry.getInstancesByAppId(app)
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
