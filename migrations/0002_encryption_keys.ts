// Fingerprints of the encryption keys that have sealed data here, so a process started with the
// wrong key ring (a freshly generated key that reuses an id) is refused before it seals anything.
// Deployment-wide, not per workspace: the key ring belongs to the deployment.
import { type Kysely, sql } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('encryption_keys')
    .addColumn('key_id', 'text', c => c.primaryKey())
    .addColumn('fingerprint', 'text', c => c.notNull())
    .addColumn('first_seen_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('encryption_keys').ifExists().execute()
}
