// Usage aggregates (per workspace × server × tool × hour) and billing periods (calls per
// workspace × month). Names and numbers only: no end user, key, address or payload. No foreign
// keys: these rows are what a workspace purge keeps (DESIGN promise 6), so they must not cascade.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('usage')
    .addColumn('workspace_id', 'uuid', col => col.notNull())
    .addColumn('server', 'text', col => col.notNull())
    .addColumn('tool', 'text', col => col.notNull())
    .addColumn('hour', 'timestamptz', col => col.notNull())
    .addColumn('calls', 'bigint', col => col.notNull().defaultTo(0))
    .addColumn('errors', 'bigint', col => col.notNull().defaultTo(0))
    .addColumn('errors_by_kind', 'jsonb', col => col.notNull().defaultTo(sql`'{}'::jsonb`))
    // Counts per latency bucket (src/telemetry/usage.ts LATENCY_BOUNDS_MS, then overflow).
    .addColumn('latency_buckets', sql`bigint[]`, col => col.notNull())
    .addColumn('total_ms', 'double precision', col => col.notNull().defaultTo(0))
    .addColumn('upstream_calls', 'bigint', col => col.notNull().defaultTo(0))
    .addColumn('upstream_ms', 'double precision', col => col.notNull().defaultTo(0))
    .addColumn('bytes_from_upstream', 'bigint', col => col.notNull().defaultTo(0))
    .addColumn('bytes_to_client', 'bigint', col => col.notNull().defaultTo(0))
    // Sum over flushes and replicas of end users new to that process in that hour (see ARCHITECTURE).
    .addColumn('end_users', 'integer', col => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('usage_pkey', ['workspace_id', 'server', 'tool', 'hour'])
    .execute()
  await db.schema.createIndex('usage_workspace_hour').on('usage').columns(['workspace_id', 'hour']).execute()
  await db.schema.createTable('billing_periods')
    .addColumn('workspace_id', 'uuid', col => col.notNull())
    // `YYYY-MM`, UTC.
    .addColumn('period', 'text', col => col.notNull())
    .addColumn('calls', 'bigint', col => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('billing_periods_pkey', ['workspace_id', 'period'])
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('billing_periods').execute()
  await db.schema.dropTable('usage').execute()
}
