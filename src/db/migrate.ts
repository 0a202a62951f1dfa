// Schema migrations from migrations/, through Kysely's Migrator: each run is one transaction under a
// Postgres advisory lock (Kysely's Postgres adapter takes it), so replicas starting together
// serialize and the second finds nothing to do.
import { Migrator, FileMigrationProvider, type MigrationResult } from 'kysely/migration'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Db } from './index.ts'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

function migrator (db: Db): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR, import: (file: string) => import(pathToFileURL(file).href) }),
    migrationTableName: 'toolgate_migrations',
    migrationLockTableName: 'toolgate_migrations_lock'
  })
}

export class MigrationError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'MigrationError'
  }
}

/** Applies every pending migration; returns the names applied now (empty when up to date). */
export async function migrateToLatest (db: Db): Promise<string[]> {
  const { error, results } = await migrator(db).migrateToLatest()
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error')
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message ?? error}`, { cause: error })
  }
  return (results ?? []).filter(r => r.status === 'Success').map(r => r.migrationName)
}

/** True when every migration in migrations/ has been applied (used by /readyz). */
export async function migrationsApplied (db: Db): Promise<boolean> {
  const all = await migrator(db).getMigrations()
  return all.every(m => m.executedAt !== undefined)
}
