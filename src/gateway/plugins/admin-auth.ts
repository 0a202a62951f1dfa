// `Authorization: Bearer <admin token>` on every /api/v1 route, except routes whose config says
// `auth: ADMIN_OR_DEBUG_TOKEN` (the live debug stream), which check their own credentials.
import type { FastifyInstance } from 'fastify'
import type { AdminTokenCheck } from '../../auth/admin-token.ts'
import { bearerToken } from '../../auth/tokens.ts'
import { unauthorized } from '../../errors.ts'

/** Route config value: the route accepts the admin token or a scoped debug token, and checks them itself. */
export const ADMIN_OR_DEBUG_TOKEN = 'admin-or-debug-token'

export function requireAdmin (app: FastifyInstance, tokens: AdminTokenCheck): void {
  app.addHook('onRequest', async (request, reply) => {
    if ((request.routeOptions.config as { auth?: string } | undefined)?.auth === ADMIN_OR_DEBUG_TOKEN) return
    const token = bearerToken(request.headers.authorization)
    if (!token || !await tokens.verify(token)) {
      reply.header('www-authenticate', 'Bearer realm="toolgate-admin"')
      throw unauthorized(token ? 'Invalid admin token' : 'Missing admin token (Authorization: Bearer <admin token>)')
    }
  })
}
