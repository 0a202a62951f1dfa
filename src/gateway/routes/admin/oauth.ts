// /api/v1/oauth/connections: end users' provider connections (never a token), and revoking them.
import type { FastifyInstance } from 'fastify'
import { notFound } from '../../../errors.ts'
import { revokeConnection } from '../../../oauth/connections.ts'
import type { GatewayDeps } from '../../deps.ts'

export function oauthAdminRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  async function endUserId (externalId: string): Promise<string> {
    const user = await deps.db.selectFrom('end_users').select('id')
      .where('workspace_id', '=', deps.workspaceId).where('external_id', '=', externalId).executeTakeFirst()
    if (!user) throw notFound(`end user "${externalId}"`)
    return user.id
  }

  app.get('/oauth/connections', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { endUser: { type: 'string', minLength: 1, maxLength: 200 } } } }
  }, async request => {
    const { endUser } = request.query as { endUser?: string }
    return { connections: await deps.oauth.vault.list(endUser === undefined ? undefined : await endUserId(endUser)) }
  })

  app.delete('/oauth/connections/:endUser/:provider', async request => {
    const { endUser, provider } = request.params as { endUser: string, provider: string }
    const outcome = await revokeConnection({ ...deps.oauth, workspaceId: deps.workspaceId, logger: deps.logger }, await endUserId(endUser), provider, 'admin')
    if (!outcome.revoked) throw notFound(`connection of "${endUser}" to "${provider}"`)
    return { endUser, provider, ...outcome }
  })
}
