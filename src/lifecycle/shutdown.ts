import type { Logger } from 'pino'

/** One step of the shutdown sequence; a failing step is logged and the sequence goes on. */
export interface ShutdownStep {
  name: string
  run: () => Promise<void> | void
}

export interface ShutdownPlan {
  logger: Logger
  drainMs: number
  timeoutMs: number
  /** Readiness down: health 503, Eureka OUT_OF_SERVICE. */
  markOutOfService: ShutdownStep[]
  /** Stop accepting and wait for in-flight requests (bounded by timeoutMs). */
  closeListeners: ShutdownStep[]
  /** Deregister, flush metrics, traces and logs. */
  cleanUp: ShutdownStep[]
  exit: (code: number) => void
}

/**
 * on SIGTERM or SIGINT, readiness goes down first so the load balancer and Eureka stop
 * sending traffic; after the drain delay the listener closes and in-flight requests finish (up to
 * the timeout); then the instance deregisters and flushes, and exits 0. A second signal exits at once.
 */
export function installShutdown (plan: ShutdownPlan, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): () => Promise<void> {
  let shuttingDown = false
  const { logger } = plan

  async function runSteps (steps: ShutdownStep[]): Promise<void> {
    for (const step of steps) {
      try {
        await step.run()
      } catch (error) {
        logger.error({ err: error, step: step.name }, 'shutdown step failed')
      }
    }
  }

  async function shutdown (signal: string): Promise<void> {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now')
      plan.exit(130)
      return
    }
    shuttingDown = true
    logger.info({ signal, drainMs: plan.drainMs }, 'shutting down: out of service')
    await runSteps(plan.markOutOfService)
    await sleep(plan.drainMs)
    logger.info('closing listeners, finishing in-flight requests')
    const closed = runSteps(plan.closeListeners).then(() => true)
    const finished = await Promise.race([closed, sleep(plan.timeoutMs).then(() => false)])
    if (!finished) logger.warn({ timeoutMs: plan.timeoutMs }, 'in-flight requests did not finish in time')
    await runSteps(plan.cleanUp)
    logger.info('shutdown complete')
    plan.exit(0)
  }

  const onSignal = (signal: NodeJS.Signals): void => { void shutdown(signal) }
  for (const signal of signals) process.on(signal, onSignal)
  return async () => { await shutdown('manual') }
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms).unref())
}
