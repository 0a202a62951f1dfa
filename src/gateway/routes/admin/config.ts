// GET/PUT /api/v1/config: the whole config document, JSON or YAML. PUT is atomic: a bad document
// is refused with every problem's path and changes nothing.
import type { FastifyInstance } from 'fastify'
import { stringify } from 'yaml'
import { applyDocument, readDocument } from '../../../config/store.ts'
import type { GatewayDeps } from '../../deps.ts'

export function configRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  app.get('/config', async (request, reply) => {
    const { document, version } = await readDocument(deps.db, deps.workspaceId)
    reply.header('toolgate-config-version', String(version))
    const wantsYaml = (request.query as { format?: string }).format === 'yaml' || /yaml/.test(request.headers.accept ?? '')
    if (wantsYaml) return await reply.type('application/yaml').send(stringify(document))
    return document
  })

  app.put('/config', async request => {
    const version = await applyDocument(deps.db, deps.keyRing, deps.workspaceId, request.body, { actor: 'admin', defaults: deps.compileDefaults })
    await deps.registry.refresh()
    return { configVersion: version }
  })
}
