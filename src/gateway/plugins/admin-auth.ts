// `Authorization: Bearer <admin token>` on every /api/v1 route.
import type { FastifyInstance } from 'fastify'
import type { AdminTokenCheck } from '../../auth/admin-token.ts'
import { bearerToken } from '../../auth/tokens.ts'
import { unauthorized } from '../../errors.ts'

export function requireAdmin (app: FastifyInstance, tokens: AdminTokenCheck): void {
  app.addHook('onRequest', async (request, reply) => {
    const token = bearerToken(request.headers.authorization)
    if (!token || !await tokens.verify(token)) {
      reply.header('www-authenticate', 'Bearer realm="toolgate-admin"')
      throw unauthorized(token ? 'Invalid admin token' : 'Missing admin token (Authorization: Bearer <admin token>)')
    }
  })
}
