// Interceptors (DESIGN: data): attached to a tool, or to a server as the default for its tools,
// per phase, in chain order. The code is config, not payload; limits null mean the defaults.
// `chains_declared` on tools and servers lists the phases declared explicitly, so an empty chain
// (`response: []`, a tool opting out of its server's default) survives the round trip.
import { type Kysely, sql } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('interceptors')
    .addColumn('id', 'uuid', c => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('workspace_id', 'uuid', c => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('server_id', 'uuid', c => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('tool_id', 'uuid', c => c.references('tools.id').onDelete('cascade')) // null: the server's default
    .addColumn('phase', 'text', c => c.notNull().check(sql`phase in ('request', 'response')`))
    .addColumn('engine', 'text', c => c.notNull().check(sql`engine in ('jmespath', 'js')`))
    .addColumn('name', 'text')
    .addColumn('code', 'text', c => c.notNull())
    .addColumn('timeout_ms', 'integer')
    .addColumn('memory_mb', 'integer')
    .addColumn('max_output_bytes', 'integer')
    .addColumn('position', 'integer', c => c.notNull())
    .execute()
  await db.schema.createIndex('interceptors_server').on('interceptors').columns(['server_id', 'tool_id', 'phase', 'position']).execute()
  await db.schema.createIndex('interceptors_workspace').on('interceptors').column('workspace_id').execute()
  for (const table of ['tools', 'servers']) {
    await db.schema.alterTable(table).addColumn('chains_declared', sql`text[]`, c => c.notNull().defaultTo(sql`'{}'`)).execute()
  }
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('interceptors').ifExists().execute()
  for (const table of ['tools', 'servers']) await db.schema.alterTable(table).dropColumn('chains_declared').execute()
}
