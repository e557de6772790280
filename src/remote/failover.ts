import { DeliveryError } from '../errors.ts'
import { UpstreamStatusError, UpstreamUnreachableError } from './http-client.ts'
import type { ServiceLocator } from './locators.ts'

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
