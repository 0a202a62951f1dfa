// The audit log: who changed what and when. Never payloads, never addresses, never secret values.
// Append-only for the application: this module inserts and reads; nothing updates or deletes a
// row (the workspace purge, src/lifecycle/purge.ts, is the one exception: rows go with their workspace).
import type { Kysely } from 'kysely'
import type { ConfigDocument } from '../config/document.ts'
import type { Database } from '../db/types.ts'

export interface AuditEntry {
  workspaceId: string
  actor: string
  action: string
  target?: string
  /** What changed, as names and counts (see configChangeSummary); never secret values. */
  details?: Record<string, unknown>
}

export async function recordAudit (db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db.insertInto('audit_log').values({
    workspace_id: entry.workspaceId,
    actor: entry.actor,
    action: entry.action,
    target: entry.target ?? null,
    details: entry.details === undefined ? null : JSON.stringify(entry.details)
  }).execute()
}

/** Most names listed per change kind in one audit row; the counts stay exact. */
export const MAX_LISTED_NAMES = 500

/**
 * Before/after summary of a config change, from two documents as readDocument exports them
 * (SECRET values are already absent there, so they cannot reach this summary): per side the
 * version and counts, and the names of the items added, removed and changed
 * (`provider:mock`, `variable:TOKEN`, `server:shop`, `tool:shop/get_user`). An item is changed
 * when its exported form differs; a SECRET's new value is not visible here by design.
 */
export function configChangeSummary (before: { document: ConfigDocument, version: number }, after: { document: ConfigDocument, version: number }): Record<string, unknown> {
  const a = items(before.document)
  const b = items(after.document)
  const added: string[] = []
  const removed: string[] = []
  const changed: string[] = []
  for (const [key, value] of b) {
    const old = a.get(key)
    if (old === undefined) added.push(key)
    else if (old !== value) changed.push(key)
  }
  for (const key of a.keys()) if (!b.has(key)) removed.push(key)
  const list = (names: string[]) => ({ count: names.length, names: names.slice(0, MAX_LISTED_NAMES) })
  return {
    before: { version: before.version, ...counts(before.document) },
    after: { version: after.version, ...counts(after.document) },
    added: list(added),
    removed: list(removed),
    changed: list(changed)
  }
}

function counts (doc: ConfigDocument): Record<string, number> {
  const servers = doc.servers ?? []
  return {
    providers: doc.providers?.length ?? 0,
    variables: doc.variables?.length ?? 0,
    servers: servers.length,
    tools: servers.reduce((n, s) => n + (s.tools?.length ?? 0), 0)
  }
}

/** Every named item of a document → its exported form as JSON (for comparison only; not stored). */
function items (doc: ConfigDocument): Map<string, string> {
  const out = new Map<string, string>()
  for (const v of doc.variables ?? []) out.set(`variable:${v.name}`, JSON.stringify(v.kind === 'SECRET' ? { ...v, value: undefined } : v))
  for (const p of doc.providers ?? []) out.set(`provider:${p.name}`, JSON.stringify(p))
  for (const s of doc.servers ?? []) {
    const { tools, ...server } = s
    out.set(`server:${s.name}`, JSON.stringify(server))
    for (const t of tools ?? []) out.set(`tool:${s.name}/${t.name}`, JSON.stringify(t))
  }
  return out
}

export interface AuditQuery {
  action?: string
  actor?: string
  target?: string
  from?: Date
  to?: Date
  /** Only rows with a smaller id (the previous page's `nextBefore`). */
  before?: string
  limit: number
}

export interface AuditRow {
  id: string
  actor: string
  action: string
  target: string | null
  details: unknown
  createdAt: string
}

/** Newest first. `action` matches exactly or, ending in `.*`, as a prefix (`config.*`). */
export async function listAudit (db: Kysely<Database>, workspaceId: string, query: AuditQuery): Promise<{ entries: AuditRow[], nextBefore: string | null }> {
  let q = db.selectFrom('audit_log').select(['id', 'actor', 'action', 'target', 'details', 'created_at'])
    .where('workspace_id', '=', workspaceId)
  if (query.action !== undefined) {
    q = query.action.endsWith('.*')
      ? q.where('action', 'like', `${escapeLike(query.action.slice(0, -1))}%`)
      : q.where('action', '=', query.action)
  }
  if (query.actor !== undefined) q = q.where('actor', '=', query.actor)
  if (query.target !== undefined) q = q.where('target', '=', query.target)
  if (query.from !== undefined) q = q.where('created_at', '>=', query.from)
  if (query.to !== undefined) q = q.where('created_at', '<', query.to)
  if (query.before !== undefined) q = q.where('id', '<', query.before)
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  const page = rows.slice(0, query.limit)
  return {
    entries: page.map(row => ({
      id: String(row.id),
      actor: row.actor,
      action: row.action,
      target: row.target,
      details: row.details ?? null,
      createdAt: new Date(row.created_at as unknown as string).toISOString()
    })),
    nextBefore: rows.length > query.limit ? String(page.at(-1)!.id) : null
  }
}

function escapeLike (text: string): string {
  return text.replace(/[\\%_]/g, c => `\\${c}`)
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF, with quotes doubled.
 * A field starting with = + - @ (or tab/CR) is prefixed with ' so a spreadsheet does not run it as
 * a formula (OWASP CSV injection).
 */
export function csvField (value: string | null): string {
  if (value === null) return ''
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

export const AUDIT_CSV_COLUMNS = ['id', 'created_at', 'actor', 'action', 'target', 'details'] as const

export function auditCsv (entries: AuditRow[]): string {
  const lines = [AUDIT_CSV_COLUMNS.join(',')]
  for (const e of entries) {
    lines.push([e.id, e.createdAt, e.actor, e.action, e.target, e.details === null ? null : JSON.stringify(e.details)].map(csvField).join(','))
  }
  return lines.join('\r\n') + '\r\n'
}
