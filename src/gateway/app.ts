// The Fastify app: plugins and routes, each in its own encapsulated context so rate-limit budgets,
// body parsers and error formats stay where they belong.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { GatewayDeps } from './deps.ts'
import { registerDrain } from './plugins/drain.ts'
import { registerErrorHandler } from './plugins/error-handler.ts'
import { addressHasher, registerRateLimit } from './plugins/rate-limit.ts'
import { registerRequestLog } from './plugins/request-log.ts'
import { adminRoutes } from './routes/admin/index.ts'
import { healthRoutes } from './routes/health.ts'
import { mcpRoutes } from './routes/mcp.ts'
import { protectedMetricsRoutes } from './routes/metrics.ts'

export async function buildApp (deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's own request lines would carry the client address; ours (request-log.ts) do not.
    logController: new LogController({ disableRequestLogging: true }),
    // A hop count is valid at runtime (Fastify docs) though missing from its types.
    trustProxy: deps.settings.trustProxy as boolean | string,
    bodyLimit: deps.settings.maxRequestBytes,
    // Unknown properties are errors, not silently dropped; no type coercion of admin input.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: false } }
  })
  registerErrorHandler(app)
  registerDrain(app)
  registerRequestLog(app)
  const hashAddress = addressHasher(deps.keyRing.deriveKey('rate-limit'))
  const metrics = deps.metrics
  const countRejection = metrics ? (group: string) => metrics.rateLimited(group) : undefined
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      const url = request.routeOptions.url
      metrics.request(url === undefined ? 'other' : url.startsWith('/mcp') ? 'mcp' : url.startsWith('/api/') ? 'api' : 'other', reply.statusCode)
    })
    // With a metrics port, /metrics lives there only (runtime.ts).
    if (deps.settings.metricsPort === undefined) await protectedMetricsRoutes(app, metrics, deps.adminTokens)
  }

  healthRoutes(app, deps)

  await app.register(async mcp => {
    await registerRateLimit(mcp, deps.settings.rateLimits.mcp, 'mcp', hashAddress, countRejection)
    await mcpRoutes(mcp, deps)
  })

  await app.register(async admin => {
    await registerRateLimit(admin, deps.settings.rateLimits.api, 'api', hashAddress, countRejection)
    await adminRoutes(admin, deps)
  }, { prefix: '/api/v1' })

  return app
}
