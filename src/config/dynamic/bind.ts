import { configSchema, type AppConfig } from '../schema.ts'
import type { DynamicKey, DynamicValues } from './properties.ts'
import type { DynamicConfig } from './types.ts'

type BreakerName = keyof AppConfig['breakers']
type BreakerLeaves = typeof configSchema.breakers[BreakerName]

/** The parts that follow dynamic properties live (structural, so the config layer depends on nothing above it). */
export interface DynamicParts {
  limiter?: { configure: (settings: { concurrency: number | 'auto', maxQueue: number, queueTimeoutMs: number, tenantMaxShare: number }) => void }
  breakers?: Partial<Readonly<Record<BreakerName, { configure: (settings: AppConfig['breakers']['logic']) => void }>>>
  logger?: { level: string }
}

/** The variables of one breaker's settings, read from the schema: `{ timeoutMs: 'BREAKER_LOGIC_TIMEOUT_MS', … }`. */
export function breakerVariables<N extends BreakerName> (name: N): { [S in keyof BreakerLeaves]: typeof configSchema.breakers[N][S]['env'] } {
  const leaves: Readonly<Record<string, { env: string }>> = configSchema.breakers[name]
  return Object.fromEntries(Object.entries(leaves).map(([setting, leaf]) => [setting, leaf.env])) as ReturnType<typeof breakerVariables<N>>
}

type Variables = Readonly<Record<string, DynamicKey>>
type ValuesOf<V extends Variables> = { [S in keyof V]: DynamicValues[V[S]] }

/** Calls `use` with the current values of `variables` now, and again after each change of one of them. */
function follow<V extends Variables> (dynamic: DynamicConfig, variables: V, use: (values: ValuesOf<V>) => void): Array<() => void> {
  const apply = (): void => {
    use(Object.fromEntries(Object.entries(variables).map(([setting, key]) => [setting, dynamic.get(key)])) as ValuesOf<V>)
  }
  apply()
  return Object.values(variables).map((key) => dynamic.onChange(key, apply))
}

/**
 * Applies the current values to the limiter, the breakers and the logger, then re-applies them on
 * every change. Returns a function that stops following changes.
 */
export function bindDynamicConfig (dynamic: DynamicConfig, parts: DynamicParts): () => void {
  const unbind: Array<() => void> = []
  const { limiter, breakers, logger } = parts
  if (limiter !== undefined) {
    const variables = {
      concurrency: 'LIMITS_MAX_CONCURRENT_TRANSFORMS',
      maxQueue: 'LIMITS_MAX_QUEUE',
      queueTimeoutMs: 'LIMITS_QUEUE_TIMEOUT_MS',
      tenantMaxShare: 'LIMITS_TENANT_MAX_SHARE'
    } as const
    unbind.push(...follow(dynamic, variables, (settings) => { limiter.configure(settings) }))
  }
  for (const name of Object.keys(configSchema.breakers) as BreakerName[]) {
    const breaker = breakers?.[name]
    if (breaker !== undefined) unbind.push(...follow(dynamic, breakerVariables(name), (settings) => { breaker.configure(settings) }))
  }
  if (logger !== undefined) {
    unbind.push(...follow(dynamic, { level: 'LOG_LEVEL' } as const, ({ level }) => { logger.level = level }))
  }
  return () => { for (const stop of unbind) stop() }
}
