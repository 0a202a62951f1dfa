// /api/v1/api-keys: keys for MCP clients. The key itself is in the create response only.
import type { FastifyInstance } from 'fastify'
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, updateApiKey, type ApiKeyUpdate, type NewApiKey } from '../../../auth/api-keys.ts'
import { RESOURCE_NAME } from '../../../config/document.ts'
import { recordAudit } from '../../../telemetry/audit.ts'
import type { GatewayDeps } from '../../deps.ts'

const servers = { anyOf: [{ type: 'array', items: { type: 'string', pattern: RESOURCE_NAME }, uniqueItems: true }, { type: 'null' }] }
const expiresAt = { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] }
const name = { type: 'string', minLength: 1, maxLength: 200 }

const createSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['endUser'],
  properties: { name, endUser: { type: 'string', minLength: 1, maxLength: 200 }, servers, expiresAt }
}
const updateSchema = { type: 'object', additionalProperties: false, properties: { name, servers, expiresAt } }

export function apiKeyRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  const { db, workspaceId } = deps

  app.get('/api-keys', async () => await listApiKeys(db, workspaceId))

  app.get('/api-keys/:id', async request => await getApiKey(db, workspaceId, (request.params as { id: string }).id))

  app.post('/api-keys', { schema: { body: createSchema } }, async (request, reply) => {
    const { key, apiKey } = await createApiKey(db, workspaceId, request.body as NewApiKey)
    await recordAudit(db, { workspaceId, actor: 'admin', action: 'api_key.create', target: apiKey.id })
    return await reply.status(201).send({ ...apiKey, key })
  })

  app.patch('/api-keys/:id', { schema: { body: updateSchema } }, async request => {
    const id = (request.params as { id: string }).id
    const updated = await updateApiKey(db, workspaceId, id, request.body as ApiKeyUpdate)
    deps.apiKeys.forget()
    await recordAudit(db, { workspaceId, actor: 'admin', action: 'api_key.update', target: id })
    return updated
  })

  app.delete('/api-keys/:id', async request => {
    const id = (request.params as { id: string }).id
    const revoked = await revokeApiKey(db, workspaceId, id)
    deps.apiKeys.forget()
    await recordAudit(db, { workspaceId, actor: 'admin', action: 'api_key.revoke', target: id })
    return revoked
  })
}
