// Workspace deletion (DESIGN promise 6: deletion means deletion). A deletion either purges at once
// or, with a grace period (at most 30 days), marks the workspace and leaves the purge to the job
// (src/lifecycle/jobs.ts), which any replica may run. The purge deletes the workspace row; every
// table with a workspace's configs, variables, tokens, API keys, end users, audit log and notices
// references it with ON DELETE CASCADE. A sweep then clears any other table with a workspace_id
// column, except the aggregates that are kept: usage and billing_periods, which carry no identity
// (no end user, key, address or payload) and no foreign key.
import { sql, type Transaction } from 'kysely'
import type { Db } from '../db/index.ts'
import type { Database } from '../db/types.ts'
import { ToolgateError } from '../errors.ts'
import { recordAudit } from '../telemetry/audit.ts'
import { WORKSPACE_CHANNEL } from './workspace-state.ts'

/** Tables a purge keeps: aggregated counts, detached from identities. */
export const KEPT_AFTER_PURGE: ReadonlySet<string> = new Set(['usage', 'billing_periods'])

const DAY_MS = 24 * 3_600_000

export interface PurgeReport {
  workspaceId: string
  /** Rows removed per table (tables with none are left out). */
  removed: Record<string, number>
}

export interface DeletionResult {
  status: 'purged' | 'pending_deletion'
  purgeAt: Date | null
  report?: PurgeReport
}

async function notify (db: Db | Transaction<Database>, workspaceId: string): Promise<void> {
  await sql`select pg_notify(${WORKSPACE_CHANNEL}, ${JSON.stringify({ workspaceId })})`.execute(db)
}

/**
 * Deletes the workspace: at once with graceDays 0 (also when a deletion is already pending), else
 * marks it for the purge job. A second request with a grace period keeps the first date.
 */
export async function requestDeletion (db: Db, workspaceId: string, options: { graceDays: number, actor: string, now?: Date }): Promise<DeletionResult> {
  if (options.graceDays <= 0) {
    const report = await purgeWorkspace(db, workspaceId)
    if (!report) throw new ToolgateError('TG_ERR_WORKSPACE_DELETED', 410, 'This workspace has been deleted')
    return { status: 'purged', purgeAt: null, report }
  }
  const now = options.now ?? new Date()
  const purgeAt = new Date(now.getTime() + options.graceDays * DAY_MS)
  return await db.transaction().execute(async trx => {
    const row = await trx.selectFrom('workspaces').select('purge_at').where('id', '=', workspaceId).forUpdate().executeTakeFirst()
    if (!row) throw new ToolgateError('TG_ERR_WORKSPACE_DELETED', 410, 'This workspace has been deleted')
    if (row.purge_at) return { status: 'pending_deletion' as const, purgeAt: row.purge_at }
    await trx.updateTable('workspaces').set({ deletion_requested_at: now, purge_at: purgeAt }).where('id', '=', workspaceId).execute()
    await recordAudit(trx, { workspaceId, actor: options.actor, action: 'workspace.delete', target: 'workspace', details: { graceDays: options.graceDays, purgeAt: purgeAt.toISOString() } })
    await notify(trx, workspaceId)
    return { status: 'pending_deletion' as const, purgeAt }
  })
}

/** Cancels a deletion still in its grace period. */
export async function cancelDeletion (db: Db, workspaceId: string, actor: string): Promise<void> {
  await db.transaction().execute(async trx => {
    const row = await trx.selectFrom('workspaces').select('purge_at').where('id', '=', workspaceId).forUpdate().executeTakeFirst()
    if (!row) throw new ToolgateError('TG_ERR_WORKSPACE_DELETED', 410, 'This workspace has been deleted')
    if (!row.purge_at) throw new ToolgateError('TG_ERR_CONFLICT', 409, 'No deletion is pending for this workspace')
    await trx.updateTable('workspaces').set({ deletion_requested_at: null, purge_at: null }).where('id', '=', workspaceId).execute()
    await recordAudit(trx, { workspaceId, actor, action: 'workspace.restore', target: 'workspace' })
    await notify(trx, workspaceId)
  })
}

/** Tables of the public schema with a workspace_id column (catalog names, quoted as identifiers). */
async function tablesWithWorkspaceId (db: Db | Transaction<Database>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select c.table_name from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and c.column_name = 'workspace_id' and t.table_type = 'BASE TABLE'
    order by c.table_name`.execute(db)
  return rows.map(row => row.table_name)
}

/** Purges the workspace now, in one transaction. Null when it does not exist (already purged). */
export async function purgeWorkspace (db: Db, workspaceId: string): Promise<PurgeReport | null> {
  return await db.transaction().execute(async trx => {
    const row = await trx.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().executeTakeFirst()
    if (!row) return null
    const tables = (await tablesWithWorkspaceId(trx)).filter(name => !KEPT_AFTER_PURGE.has(name))
    const removed: Record<string, number> = {}
    for (const table of tables) {
      const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where workspace_id = ${workspaceId}`.execute(trx)
      const n = Number(rows[0]?.n ?? 0)
      if (n > 0) removed[table] = n
    }
    await trx.deleteFrom('workspaces').where('id', '=', workspaceId).execute()
    // Whatever did not cascade (a table without a foreign key to workspaces).
    for (const table of tables) await sql`delete from ${sql.table(table)} where workspace_id = ${workspaceId}`.execute(trx)
    await notify(trx, workspaceId)
    return { workspaceId, removed }
  })
}

/** Purges every workspace whose grace period has ended; returns what was purged. */
export async function purgeDueWorkspaces (db: Db, now: Date = new Date()): Promise<PurgeReport[]> {
  const due = await db.selectFrom('workspaces').select('id').where('purge_at', '<=', now).execute()
  const reports: PurgeReport[] = []
  for (const { id } of due) {
    const report = await purgeWorkspace(db, id)
    if (report) reports.push(report)
  }
  return reports
}
