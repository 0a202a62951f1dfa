// GET /metrics (Prometheus text). On the main port it needs the admin token; with
// TOOLGATE_METRICS_PORT it is served on its own listener instead (buildMetricsApp), without auth,
// and the main port does not have it.
import Fastify, { type FastifyInstance } from 'fastify'
import type { AdminTokenCheck } from '../../auth/admin-token.ts'
import type { GatewayMetrics } from '../../telemetry/metrics.ts'
import { requireAdmin } from '../plugins/admin-auth.ts'

function metricsRoute (app: FastifyInstance, metrics: GatewayMetrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.text()
    return await reply.type(metrics.contentType).send(text)
  })
}

/** /metrics behind the admin token, in its own context (the auth hook stays there). */
export async function protectedMetricsRoutes (app: FastifyInstance, metrics: GatewayMetrics, tokens: AdminTokenCheck): Promise<void> {
  await app.register(async scoped => {
    requireAdmin(scoped, tokens)
    metricsRoute(scoped, metrics)
  })
}

/** The separate metrics listener: /metrics only, no auth (bind it to a private address). */
export function buildMetricsApp (metrics: GatewayMetrics): FastifyInstance {
  const app = Fastify({ logger: false })
  metricsRoute(app, metrics)
  return app
}
