import type { FastifyInstance } from 'fastify'

export interface HealthState {
  /** False from the moment shutdown starts. */
  isReady: () => boolean
  startedAt: Date
}

export function registerHealthRoute (app: FastifyInstance, state: HealthState): void {
  app.get('/healthcheck', async (_request, reply) => {
    void reply.header('cache-control', 'no-store')
    if (!state.isReady()) return await reply.code(503).send({ status: 'OUT_OF_SERVICE' })
    return { status: 'UP', startedAt: state.startedAt.toISOString(), uptimeSeconds: Math.round(process.uptime()) }
  })
}
