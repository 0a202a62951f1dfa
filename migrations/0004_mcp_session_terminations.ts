// MCP sessions ended by DELETE (2025-era Streamable HTTP). Session ids are signed and checked
// without shared state, so only their end needs remembering, and only until the id would have
// expired anyway. Holds the random part of the id and nothing about who used it.
import { type Kysely, sql } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('mcp_session_terminations')
    .addColumn('session_id', 'text', c => c.primaryKey())
    .addColumn('expires_at', 'timestamptz', c => c.notNull())
    .addColumn('terminated_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('mcp_session_terminations_expires_at').on('mcp_session_terminations').column('expires_at').execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mcp_session_terminations').ifExists().execute()
}
