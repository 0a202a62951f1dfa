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

  healthRoutes(app, deps)

  await app.register(async mcp => {
    await registerRateLimit(mcp, deps.settings.rateLimits.mcp, 'mcp', hashAddress)
    await mcpRoutes(mcp, deps)
  })

  await app.register(async admin => {
    await registerRateLimit(admin, deps.settings.rateLimits.api, 'api', hashAddress)
    await adminRoutes(admin, deps)
  }, { prefix: '/api/v1' })

  return app
}
