// Dynamic tool discovery (api servers): when on, tools/list offers search_tools, describe_tool and
// call_tool instead of the whole catalogue. A config field of the server, so a plain column.
import type { Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').addColumn('discovery', 'boolean', col => col.notNull().defaultTo(false)).execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').dropColumn('discovery').execute()
}
