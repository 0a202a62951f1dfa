// Audit rows carry a summary of what changed (names and counts; never secret values, never
// payloads, never addresses): a JSON column, null for rows that have nothing more to say.
import type { Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').addColumn('details', 'jsonb').execute()
  // Paging is newest first by id within a workspace.
  await db.schema.createIndex('audit_log_workspace_id_idx').on('audit_log').columns(['workspace_id', 'id']).execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_log_workspace_id_idx').ifExists().execute()
  await db.schema.alterTable('audit_log').dropColumn('details').execute()
}
