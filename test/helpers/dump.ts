// Every row of every table in the public schema, as text: the "pg_dump" of the at-rest tests
// (no pg_dump for the embedded Postgres 18 here). bytea columns print as hex.
import { sql, type Kysely } from 'kysely'

export async function dumpDatabase (db: Kysely<any>): Promise<Map<string, string>> {
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db)
  const dump = new Map<string, string>()
  for (const { table_name: table } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(db)
    dump.set(table, rows.rows.map(r => r.row).join('\n'))
  }
  return dump
}

/** The forms a secret could be stored in by mistake: plain, base64, base64url, hex. */
export function encodings (secret: string): string[] {
  const bytes = Buffer.from(secret)
  return [secret, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')]
}
