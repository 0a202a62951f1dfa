// /api/v1/notifications: operator notices, as the calling account sees them (its dismissals
// hide the current episode of a notice; the admin token counts as one account).
import type { FastifyInstance } from 'fastify'
import { dismissNotice, listNotices, undismissNotice } from '../../../notifications/store.ts'
import type { GatewayDeps } from '../../deps.ts'
import { operatorAccountId } from '../../operator.ts'

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dismissed: { type: 'string', enum: ['true', 'false'] },
    resolved: { type: 'string', enum: ['true', 'false'] }
  }
} as const

export function notificationRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  const { db, workspaceId } = deps

  app.get('/notifications', { schema: { querystring: listQuery } }, async request => {
    const query = request.query as { dismissed?: string, resolved?: string }
    const notifications = await listNotices(db, workspaceId, operatorAccountId(request), {
      includeDismissed: query.dismissed === 'true',
      includeResolved: query.resolved === 'true'
    })
    return { notifications }
  })

  app.post('/notifications/:id/dismiss', async (request, reply) => {
    await dismissNotice(db, workspaceId, (request.params as { id: string }).id, operatorAccountId(request))
    return await reply.status(204).send()
  })

  app.delete('/notifications/:id/dismiss', async (request, reply) => {
    await undismissNotice(db, workspaceId, (request.params as { id: string }).id, operatorAccountId(request))
    return await reply.status(204).send()
  })
}
