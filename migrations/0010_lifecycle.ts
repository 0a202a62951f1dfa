// Data lifecycle and operator notices.
// - workspaces: a deletion requested with a grace period (`purge_at`); null means active. The
//   purge deletes the row, and every table holding a workspace's data cascades from it.
// - notifications: operator-facing notices (an upstream failing, a stdio server crashing, a key
//   not rotated…), one row per kind × subject, raised and resolved in episodes. Names, kinds and
//   counts only: never a payload, a secret or an address.
// - notification_dismissals: who dismissed which notice, per account (null: the admin token,
//   which has no account), kept across restarts. A dismissal hides the episode it was made in.
import { type Kysely, sql } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces')
    .addColumn('deletion_requested_at', 'timestamptz')
    .addColumn('purge_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('workspaces_purge_at').on('workspaces').column('purge_at').where(sql.ref('purge_at'), 'is not', null).execute()

  await db.schema.createTable('notifications')
    .addColumn('id', 'uuid', c => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('workspace_id', 'uuid', c => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('kind', 'text', c => c.notNull())
    .addColumn('subject', 'text', c => c.notNull())
    .addColumn('severity', 'text', c => c.notNull().check(sql`severity in ('info', 'warning', 'error')`))
    .addColumn('message', 'text', c => c.notNull())
    .addColumn('occurrences', 'integer', c => c.notNull().defaultTo(1))
    .addColumn('first_seen_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .addColumn('episode_started_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .addColumn('resolved_at', 'timestamptz')
    .addUniqueConstraint('notifications_subject_unique', ['workspace_id', 'kind', 'subject'])
    .execute()

  await db.schema.createTable('notification_dismissals')
    .addColumn('notification_id', 'uuid', c => c.notNull().references('notifications.id').onDelete('cascade'))
    .addColumn('account_id', 'uuid', c => c.references('accounts.id').onDelete('cascade'))
    .addColumn('dismissed_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .execute()
  // One dismissal per notice and account, the admin token (null account) counting as one.
  await sql`create unique index notification_dismissals_unique on notification_dismissals (notification_id, coalesce(account_id, '00000000-0000-0000-0000-000000000000'::uuid))`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('notification_dismissals').ifExists().execute()
  await db.schema.dropTable('notifications').ifExists().execute()
  await db.schema.dropIndex('workspaces_purge_at').ifExists().execute()
  await db.schema.alterTable('workspaces').dropColumn('purge_at').dropColumn('deletion_requested_at').execute()
}
