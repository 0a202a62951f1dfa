// /api/v1/workspace: its state, the export of everything about it, its deletion and the undo of a
// deletion still in its grace period (DESIGN promise 6).
import type { FastifyInstance } from 'fastify'
import { MAX_DELETION_GRACE_DAYS } from '../../../config/settings.ts'
import { ToolgateError, badRequest } from '../../../errors.ts'
import { exportWorkspace } from '../../../lifecycle/export.ts'
import { cancelDeletion, requestDeletion } from '../../../lifecycle/purge.ts'
import { readWorkspaceStatus } from '../../../lifecycle/workspace-state.ts'
import type { GatewayDeps } from '../../deps.ts'

const deleteQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['confirm'],
  properties: {
    // The workspace's name, typed again: a DELETE sent by mistake purges nothing.
    confirm: { type: 'string', minLength: 1 },
    graceDays: { type: 'string', pattern: '^\\d{1,2}$' }
  }
} as const

export function workspaceRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  const { db, workspaceId } = deps
  const reload = async () => { await deps.workspace?.reload() }

  app.get('/workspace', async () => {
    const row = await db.selectFrom('workspaces').select(['id', 'name', 'created_at', 'config_version']).where('id', '=', workspaceId).executeTakeFirst()
    const state = await readWorkspaceStatus(db, workspaceId)
    return {
      id: workspaceId,
      name: row?.name ?? null,
      createdAt: row ? new Date(row.created_at).toISOString() : null,
      configVersion: row ? Number(row.config_version) : null,
      status: state.status,
      deletionRequestedAt: state.deletionRequestedAt?.toISOString() ?? null,
      purgeAt: state.purgeAt?.toISOString() ?? null
    }
  })

  app.get('/workspace/export', async (request, reply) => {
    if (deps.workspace?.current.status === 'purged') throw new ToolgateError('TG_ERR_WORKSPACE_DELETED', 410, 'This workspace has been deleted')
    // This process's counts first, as GET /usage does, so the export holds its calls up to now.
    await deps.usage?.flush().catch(err => request.log.warn({ err: { message: (err as Error).message } }, 'usage flush before export failed'))
    const exported = await exportWorkspace(db, workspaceId)
    return await reply.header('content-disposition', 'attachment; filename="toolgate-workspace-export.json"').send(exported)
  })

  app.delete('/workspace', { schema: { querystring: deleteQuery } }, async (request, reply) => {
    const query = request.query as { confirm: string, graceDays?: string }
    const row = await db.selectFrom('workspaces').select('name').where('id', '=', workspaceId).executeTakeFirst()
    if (!row) throw new ToolgateError('TG_ERR_WORKSPACE_DELETED', 410, 'This workspace has been deleted')
    if (query.confirm !== row.name) throw badRequest(`confirm: give the workspace's name ("${row.name}") to delete it`)
    const graceDays = query.graceDays === undefined ? deps.settings.deletionGraceDays : Number(query.graceDays)
    if (graceDays > MAX_DELETION_GRACE_DAYS) throw badRequest(`graceDays: at most ${MAX_DELETION_GRACE_DAYS}`)
    const result = await requestDeletion(db, workspaceId, { graceDays, actor: 'admin' })
    if (result.status === 'purged') {
      // Names and counts only (the report holds table names and row counts).
      request.log.info({ workspace: workspaceId, removed: result.report?.removed }, 'workspace purged')
      // The state's change drops the compiled config (runtime.ts); cached keys go at once.
      await reload()
      deps.apiKeys.forget()
      return { status: 'purged', removed: result.report?.removed ?? {} }
    }
    await reload()
    return await reply.status(202).send({ status: 'pending_deletion', purgeAt: result.purgeAt?.toISOString() ?? null })
  })

  app.post('/workspace/restore', async () => {
    await cancelDeletion(db, workspaceId, 'admin')
    await reload()
    return { status: 'active' }
  })
}
