// GET /api/v1/audit: the audit log, newest first, filtered and paged; JSON or CSV. There is no
// route that changes or removes an entry (append-only for the application).
import type { FastifyInstance } from 'fastify'
import { badRequest } from '../../../errors.ts'
import { auditCsv, listAudit, type AuditQuery } from '../../../telemetry/audit.ts'
import type { GatewayDeps } from '../../deps.ts'

export const AUDIT_DEFAULT_LIMIT = 100
export const AUDIT_MAX_LIMIT = 1000

type Query = Record<string, string | undefined>

function date (query: Query, name: string): Date | undefined {
  const raw = query[name]
  if (raw === undefined || raw === '') return undefined
  const value = new Date(raw)
  if (Number.isNaN(value.getTime())) throw badRequest(`${name}: expected an ISO 8601 date-time, got "${raw}"`)
  return value
}

function text (query: Query, name: string): string | undefined {
  const raw = query[name]
  if (raw === undefined || raw === '') return undefined
  if (raw.length > 500) throw badRequest(`${name}: at most 500 characters`)
  return raw
}

export function parseAuditQuery (query: Query): AuditQuery & { format: 'json' | 'csv' | undefined } {
  const known = new Set(['action', 'actor', 'target', 'from', 'to', 'limit', 'before', 'format'])
  for (const key of Object.keys(query)) if (!known.has(key)) throw badRequest(`Unknown query parameter "${key}"`)
  for (const [key, value] of Object.entries(query)) if (typeof value !== 'string') throw badRequest(`${key}: given more than once`)
  let limit = AUDIT_DEFAULT_LIMIT
  if (query.limit !== undefined) {
    if (!/^\d+$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > AUDIT_MAX_LIMIT) throw badRequest(`limit: expected an integer from 1 to ${AUDIT_MAX_LIMIT}`)
    limit = Number(query.limit)
  }
  const before = query.before
  if (before !== undefined && !/^[1-9]\d{0,17}$/.test(before)) throw badRequest('before: expected an entry id (the previous page\'s nextBefore)')
  const format = query.format
  if (format !== undefined && format !== 'json' && format !== 'csv') throw badRequest('format: expected json or csv')
  const parsed: AuditQuery = { limit }
  const action = text(query, 'action')
  const actor = text(query, 'actor')
  const target = text(query, 'target')
  const from = date(query, 'from')
  const to = date(query, 'to')
  if (action !== undefined) parsed.action = action
  if (actor !== undefined) parsed.actor = actor
  if (target !== undefined) parsed.target = target
  if (from !== undefined) parsed.from = from
  if (to !== undefined) parsed.to = to
  if (before !== undefined) parsed.before = before
  return { ...parsed, format }
}

export function auditRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  app.get('/audit', async (request, reply) => {
    const { format, ...query } = parseAuditQuery(request.query as Query)
    const page = await listAudit(deps.db, deps.workspaceId, query)
    const csv = format === 'csv' || (format === undefined && /\btext\/csv\b/.test(request.headers.accept ?? ''))
    if (page.nextBefore !== null) reply.header('toolgate-next-before', page.nextBefore)
    if (csv) {
      return await reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="toolgate-audit.csv"').send(auditCsv(page.entries))
    }
    return page
  })
}
