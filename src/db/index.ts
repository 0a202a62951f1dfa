// The Kysely instance over a pg Pool. One per process; passed to modules as an argument.
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './types.ts'

export type Db = Kysely<Database>

export interface DbHandle {
  db: Db
  pool: pg.Pool
  connectionString: string
}

export function connectDb (connectionString: string, maxConnections = 10): DbHandle {
  const pool = new pg.Pool({ connectionString, max: maxConnections })
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {})
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), pool, connectionString }
}

export type { Database } from './types.ts'
