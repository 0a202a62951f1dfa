// Servers whose items come from another MCP server (`remote-mcp`, `stdio`) keep their upstream
// definition (URL, transport, headers / command, args, env, and include/exclude/rename) in one
// json column, as written in the config document: `${NAME}` references stay unresolved, so no
// secret value is ever stored here. `status` now tracks the upstream connection
// (deploying/running/crashed/stopped); `api` servers keep 'active'.
import type { Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').addColumn('upstream', 'json').execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').dropColumn('upstream').execute()
}
