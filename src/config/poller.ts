/**
 * A source read again every `pollMs` (the DynamoDB table, the secrets store): never two reads at
 * once, so a slow answer cannot overwrite a newer one; a failing read keeps the last values and is
 * reported when reads start failing and when they work again, not on every attempt.
 */
export interface PollerOptions {
  pollMs: number
  /** One read; throws when it fails. */
  read: (signal: AbortSignal) => Promise<void>
  /** `first` is true for the failure that ends a working period; later ones repeat it. */
  onFailure: (error: unknown, first: boolean) => void
  onRecovery: () => void
}

export interface Poller {
  /** One read now, joining one in flight; false when it failed. */
  poll: () => Promise<boolean>
  /** Reads again every `pollMs` from now on. */
  schedule: () => void
  /** Aborted by `stop`: reads pass it on. */
  readonly signal: AbortSignal
  /** Ends the polling and waits for a read in flight. */
  stop: () => Promise<void>
}

export function createPoller (options: PollerOptions): Poller {
  const controller = new AbortController()
  let failing = false
  let current: Promise<boolean> | undefined
  let timer: NodeJS.Timeout | undefined

  async function pollOnce (): Promise<boolean> {
    try {
      await options.read(controller.signal)
      if (failing) options.onRecovery()
      failing = false
      return true
    } catch (error) {
      if (controller.signal.aborted) return false
      options.onFailure(error, !failing)
      failing = true
      return false
    }
  }

  function poll (): Promise<boolean> {
    current ??= pollOnce().finally(() => { current = undefined })
    return current
  }

  function schedule (): void {
    if (controller.signal.aborted) return
    timer = setTimeout(() => { void poll().then(schedule) }, options.pollMs)
    timer.unref()
  }

  return {
    poll,
    schedule,
    signal: controller.signal,
    async stop () {
      controller.abort()
      clearTimeout(timer)
      await current
    }
  }
}
