// While a workspace waits out its deletion grace period, or after it was purged, it serves nothing:
// MCP requests get 410 once their API key checks out (routes/mcp.ts; after a purge the keys are
// gone, so 401), admin requests 409 (pending: restore is possible) or 410 (purged), except the
// /workspace routes that show, export, restore or purge it. One property read per request.
import type { FastifyInstance } from 'fastify'
import { ToolgateError } from '../../errors.ts'
import type { WorkspaceState } from '../../lifecycle/workspace-state.ts'

export function workspaceRefusal (state: WorkspaceState, forMcp: boolean): ToolgateError {
  const { status, purgeAt } = state.current
  if (status === 'purged') return new ToolgateError('TG_ERR_WORKSPACE_DELETED', 410, 'This workspace has been deleted')
  const when = purgeAt ? ` on ${purgeAt.toISOString()}` : ''
  return forMcp
    ? new ToolgateError('TG_ERR_WORKSPACE_DELETED', 410, 'This workspace has been deleted')
    : new ToolgateError('TG_ERR_WORKSPACE_PENDING_DELETION', 409, `This workspace is deleted and will be purged${when}; POST /api/v1/workspace/restore cancels the deletion`)
}

/** On the admin context, after authentication: every route but /workspace's own. */
export function gateAdmin (app: FastifyInstance, state: WorkspaceState, prefix: string): void {
  const own = `${prefix}/workspace`
  app.addHook('onRequest', async request => {
    if (state.active) return
    const url = request.routeOptions.url
    if (url === own || url?.startsWith(`${own}/`)) return
    throw workspaceRefusal(state, false)
  })
}
