// Liveness (the process answers) and readiness (Postgres reachable, every migration applied).
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { migrationsApplied } from '../../db/migrate.ts'
import type { GatewayDeps } from '../deps.ts'

export function healthRoutes (app: FastifyInstance, deps: Pick<GatewayDeps, 'db' | 'registry'>): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(deps.db)
      if (!await migrationsApplied(deps.db)) return await reply.status(503).send({ status: 'unavailable', reason: 'migrations pending' })
      return { status: 'ready', configVersion: deps.registry.version }
    } catch {
      return await reply.status(503).send({ status: 'unavailable', reason: 'database unreachable' })
    }
  })
}
