// Operator notices in Postgres: one row per workspace × kind × subject, raised and resolved in
// episodes; dismissals per account (null: the admin token, which has no account). A dismissal
// hides the episode it was made in: a notice raised again after it was resolved shows again.
// Messages carry names, kinds, counts and statuses only (never a payload, secret or address).
import { sql } from 'kysely'
import type { Db } from '../db/index.ts'
import { notFound } from '../errors.ts'

export type NoticeSeverity = 'info' | 'warning' | 'error'

export interface Notice {
  /** What happened, e.g. `upstream.failing`, `upstream.crashed`, `oauth.refresh_failed`, `key.rotation_due`. */
  kind: string
  /** What it happened to (a server, provider or key name). */
  subject: string
  severity: NoticeSeverity
  message: string
}

export interface NoticeView extends Notice {
  id: string
  occurrences: number
  firstSeenAt: string
  lastSeenAt: string
  episodeStartedAt: string
  resolvedAt: string | null
  /** When this account dismissed the current episode, if it did. */
  dismissedAt: string | null
}

const NIL_ACCOUNT = '00000000-0000-0000-0000-000000000000'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export async function raiseNotice (db: Db, workspaceId: string, notice: Notice, now: Date = new Date()): Promise<void> {
  await db.insertInto('notifications').values({
    workspace_id: workspaceId,
    kind: notice.kind,
    subject: notice.subject,
    severity: notice.severity,
    message: notice.message,
    first_seen_at: now,
    last_seen_at: now,
    episode_started_at: now
  }).onConflict(oc => oc.columns(['workspace_id', 'kind', 'subject']).doUpdateSet({
    severity: sql`excluded.severity`,
    message: sql`excluded.message`,
    last_seen_at: sql`excluded.last_seen_at`,
    occurrences: sql`notifications.occurrences + 1`,
    // A raise after a resolve starts a new episode (earlier dismissals no longer hide it).
    episode_started_at: sql`case when notifications.resolved_at is null then notifications.episode_started_at else excluded.last_seen_at end`,
    resolved_at: null
  })).execute()
}

/** Marks the notice resolved (its condition cleared); true when it was open. */
export async function resolveNotice (db: Db, workspaceId: string, kind: string, subject: string, now: Date = new Date()): Promise<boolean> {
  const result = await db.updateTable('notifications').set({ resolved_at: now })
    .where('workspace_id', '=', workspaceId).where('kind', '=', kind).where('subject', '=', subject).where('resolved_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** `kind\u0000subject` of every open notice (the board's start state). */
export async function openNoticeKeys (db: Db, workspaceId: string): Promise<string[]> {
  const rows = await db.selectFrom('notifications').select(['kind', 'subject']).where('workspace_id', '=', workspaceId).where('resolved_at', 'is', null).execute()
  return rows.map(row => noticeKey(row.kind, row.subject))
}

export function noticeKey (kind: string, subject: string): string {
  return `${kind}\u0000${subject}`
}

export interface NoticeQuery {
  /** Also the ones this account dismissed. */
  includeDismissed?: boolean
  /** Also the resolved ones. */
  includeResolved?: boolean
}

const iso = (value: Date | string | null) => value === null ? null : new Date(value).toISOString()

/** The notices an account sees, newest first. */
export async function listNotices (db: Db, workspaceId: string, accountId: string | null, query: NoticeQuery = {}): Promise<NoticeView[]> {
  let q = db.selectFrom('notifications as n')
    .leftJoin('notification_dismissals as d', join => join.onRef('d.notification_id', '=', 'n.id')
      .on(sql`coalesce(d.account_id, ${NIL_ACCOUNT}::uuid)`, '=', sql`coalesce(${accountId}::uuid, ${NIL_ACCOUNT}::uuid)`)
      .on(sql.ref('d.dismissed_at'), '>=', sql.ref('n.episode_started_at')))
    .select(['n.id', 'n.kind', 'n.subject', 'n.severity', 'n.message', 'n.occurrences', 'n.first_seen_at', 'n.last_seen_at', 'n.episode_started_at', 'n.resolved_at', 'd.dismissed_at'])
    .where('n.workspace_id', '=', workspaceId)
  if (!query.includeResolved) q = q.where('n.resolved_at', 'is', null)
  if (!query.includeDismissed) q = q.where('d.dismissed_at', 'is', null)
  const rows = await q.orderBy('n.last_seen_at', 'desc').orderBy('n.id').execute()
  return rows.map(row => ({
    id: row.id,
    kind: row.kind,
    subject: row.subject,
    severity: row.severity,
    message: row.message,
    occurrences: row.occurrences,
    firstSeenAt: iso(row.first_seen_at)!,
    lastSeenAt: iso(row.last_seen_at)!,
    episodeStartedAt: iso(row.episode_started_at)!,
    resolvedAt: iso(row.resolved_at),
    dismissedAt: iso(row.dismissed_at)
  }))
}

async function ensureNotice (db: Db, workspaceId: string, id: string): Promise<void> {
  if (!UUID.test(id)) throw notFound(`notification ${id}`)
  const row = await db.selectFrom('notifications').select('id').where('id', '=', id).where('workspace_id', '=', workspaceId).executeTakeFirst()
  if (!row) throw notFound(`notification ${id}`)
}

/** Dismisses the notice's current episode for this account (again: the time moves forward). */
export async function dismissNotice (db: Db, workspaceId: string, id: string, accountId: string | null, now: Date = new Date()): Promise<void> {
  await ensureNotice(db, workspaceId, id)
  await db.insertInto('notification_dismissals').values({ notification_id: id, account_id: accountId, dismissed_at: now })
    .onConflict(oc => oc.expression(sql`notification_id, coalesce(account_id, ${sql.lit(NIL_ACCOUNT)}::uuid)`).doUpdateSet({ dismissed_at: sql`excluded.dismissed_at` }))
    .execute()
}

/** Takes this account's dismissal back. */
export async function undismissNotice (db: Db, workspaceId: string, id: string, accountId: string | null): Promise<void> {
  await ensureNotice(db, workspaceId, id)
  await db.deleteFrom('notification_dismissals').where('notification_id', '=', id)
    .where(sql<boolean>`coalesce(account_id, ${NIL_ACCOUNT}::uuid) = coalesce(${accountId}::uuid, ${NIL_ACCOUNT}::uuid)`)
    .execute()
}
