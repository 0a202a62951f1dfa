// /api/v1: the admin API. Every route needs the admin token (the debug stream also takes its own
// scoped token: routes/admin/debug.ts).
import type { FastifyInstance } from 'fastify'
import { parse as parseYaml } from 'yaml'
import { providerSchema, serverSchema, toolSchema, variableSchema, type ProviderDoc, type ServerDoc, type ToolDoc, type VariableDoc } from '../../../config/document.ts'
import { badRequest, notFound } from '../../../errors.ts'
import type { GatewayDeps } from '../../deps.ts'
import { requireAdmin } from '../../plugins/admin-auth.ts'
import { apiKeyRoutes } from './api-keys.ts'
import { auditRoutes } from './audit.ts'
import { registerCollection } from './collection.ts'
import { configRoutes } from './config.ts'
import { debugRoutes } from './debug.ts'
import { interceptorRoutes } from './interceptors.ts'
import { oauthAdminRoutes } from './oauth.ts'
import { openApiImportRoutes } from './openapi-import.ts'
import { serverStates } from './server-state.ts'
import { usageRoutes } from './usage.ts'
import { notificationRoutes } from './notifications.ts'
import { workspaceRoutes } from './workspace.ts'
import { gateAdmin } from '../../plugins/workspace-gate.ts'

export async function adminRoutes (app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  requireAdmin(app, deps.adminTokens)
  if (deps.workspace) gateAdmin(app, deps.workspace, app.prefix)
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseYaml(body as string))
    } catch (err) {
      done(badRequest(`Invalid YAML: ${(err as Error).message}`), undefined)
    }
  })

  configRoutes(app, deps)
  apiKeyRoutes(app, deps)
  auditRoutes(app, deps)
  interceptorRoutes(app, deps)
  oauthAdminRoutes(app, deps)
  openApiImportRoutes(app, deps)
  usageRoutes(app, deps)
  workspaceRoutes(app, deps)
  notificationRoutes(app, deps)
  debugRoutes(app, deps)

  registerCollection<ProviderDoc>(app, deps, {
    path: '/providers', noun: 'provider', schema: providerSchema,
    items: doc => (doc.providers ??= [])
  })
  registerCollection<VariableDoc>(app, deps, {
    path: '/variables', noun: 'variable', schema: variableSchema,
    items: doc => (doc.variables ??= []),
    // Secret values are write-only.
    view: variable => variable.kind === 'SECRET' ? { ...variable, value: undefined } : variable
  })
  registerCollection<ServerDoc>(app, deps, {
    path: '/servers', noun: 'server', schema: serverSchema,
    items: doc => (doc.servers ??= []),
    state: async () => {
      const states = await serverStates(deps.db, deps.workspaceId)
      // MCP upstreams report their connection status; api servers when a client last reached them.
      return (server, view) => server.kind === 'remote-mcp' || server.kind === 'stdio'
        ? { ...view as object, ...states.get(server.name) }
        : { ...view as object, lastConnectedAt: states.get(server.name)?.lastConnectedAt ?? null }
    },
    stateFields: ['status', 'lastConnectedAt']
  })
  registerCollection<ToolDoc>(app, deps, {
    path: '/servers/:server/tools', noun: 'tool', schema: toolSchema,
    items: (doc, params) => {
      const server = (doc.servers ?? []).find(s => s.name === params.server)
      if (!server) throw notFound(`server "${params.server}"`)
      return (server.tools ??= [])
    }
  })
}
