// POST /api/v1/servers/:server/import/openapi: an OpenAPI document (JSON or YAML body, or
// `{ url }` / `{ document }` with options) imported as tools of the server, applied atomically.
import type { FastifyInstance } from 'fastify'
import { badRequest } from '../../../errors.ts'
import { runImport } from '../../../openapi/apply.ts'
import type { ImportOptions, OpenApiSource } from '../../../openapi/index.ts'
import type { GatewayDeps } from '../../deps.ts'

const LIST_OPTIONS = ['includeTags', 'excludeTags', 'includePaths', 'excludePaths', 'methods', 'includeOperations', 'excludeOperations'] as const
const STRING_OPTIONS = ['provider', 'baseUrl'] as const
const BOOLEAN_OPTIONS = ['prune', 'simplify', 'outputSchemas', 'dryRun'] as const

const KNOWN = new Set<string>([...LIST_OPTIONS, ...STRING_OPTIONS, ...BOOLEAN_OPTIONS, 'secrets'])

function readOptions (from: Record<string, unknown>, server: string): ImportOptions & { dryRun?: boolean } {
  const unknown = Object.keys(from).filter(key => !KNOWN.has(key))
  if (unknown.length > 0) throw badRequest(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map(k => `"${k}"`).join(', ')} (known: ${[...KNOWN].join(', ')})`)
  const options: ImportOptions & { dryRun?: boolean } = { server }
  for (const key of STRING_OPTIONS) {
    const value = from[key]
    if (value === undefined) continue
    if (typeof value !== 'string') throw badRequest(`${key} must be a string`)
    options[key] = value
  }
  for (const key of LIST_OPTIONS) {
    let value = from[key]
    if (value === undefined) continue
    if (typeof value === 'string') value = value.split(',').map(s => s.trim()).filter(Boolean)
    if (!Array.isArray(value) || value.some(v => typeof v !== 'string')) throw badRequest(`${key} must be a list of strings`)
    options[key] = value as string[]
  }
  for (const key of BOOLEAN_OPTIONS) {
    const value = from[key]
    if (value === undefined) continue
    if (value !== true && value !== false && value !== 'true' && value !== 'false') throw badRequest(`${key} must be true or false`)
    options[key] = value === true || value === 'true'
  }
  const secrets = from.secrets
  if (secrets !== undefined) {
    if (secrets === null || typeof secrets !== 'object' || Object.values(secrets).some(v => typeof v !== 'string')) throw badRequest('secrets must map variable names to strings')
    options.secrets = secrets as Record<string, string>
  }
  return options
}

export function openApiImportRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  // The document may be larger than other admin bodies: its own limit (a larger one gets 413).
  app.post('/servers/:server/import/openapi', { bodyLimit: deps.settings.maxOpenApiBytes }, async (request, reply) => {
    const { server } = request.params as { server: string }
    const body = request.body
    const query = request.query as Record<string, unknown>
    let source: OpenApiSource
    let options: ImportOptions & { dryRun?: boolean }
    if (typeof body === 'string') {
      source = { text: body }
      options = readOptions(query, server)
    } else if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest('the body must be an OpenAPI document, or { "url": … } / { "document": … } with options')
    } else if ('openapi' in body || 'swagger' in body) {
      source = { object: body as Record<string, unknown> }
      options = readOptions(query, server)
    } else {
      const { url, document, ...rest } = body as Record<string, unknown>
      if (typeof url === 'string') source = { url }
      else if (typeof document === 'string') source = { text: document }
      else if (document !== null && typeof document === 'object' && !Array.isArray(document)) source = { object: document as Record<string, unknown> }
      else throw badRequest('give the document itself as the body, or "url" (a string) or "document" (an object or its text)')
      options = readOptions({ ...query, ...rest }, server)
    }
    const { dryRun, ...importOptions } = options
    const outcome = await runImport(deps.db, deps.keyRing, deps.workspaceId, source, { ...importOptions, dryRun: dryRun === true, maxBytes: deps.settings.maxOpenApiBytes }, {
      actor: 'admin', defaults: deps.compileDefaults, audit: { action: 'openapi.import', target: server }
    })
    if (outcome.configVersion !== undefined) await deps.registry.refresh()
    return await reply.send({ ...outcome.plan, dryRun: dryRun === true, ...(outcome.configVersion !== undefined ? { configVersion: outcome.configVersion } : {}) })
  })
}
