// How a CLI command reaches the database: DATABASE_URL; or the embedded cluster a running gateway
// already serves from the data dir; or, when none runs, the embedded cluster started for the
// command and stopped after it.
import type { Settings } from '../config/settings.ts'
import { connectToRunningEmbedded, startEmbeddedPostgres } from '../db/embedded.ts'
import { connectDb, type Db } from '../db/index.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { ensureWorkspace } from '../db/workspaces.ts'

/** A connection and nothing else: for `migrate`, which must run before any table exists. */
export async function withConnection<T> (settings: Settings, work: (db: Db) => Promise<T>): Promise<T> {
  let connectionString = settings.databaseUrl ?? await connectToRunningEmbedded(settings.dataDir)
  let stopEmbedded: (() => Promise<void>) | undefined
  if (!connectionString) {
    const embedded = await startEmbeddedPostgres({ dataDir: settings.dataDir })
    connectionString = embedded.connectionString
    stopEmbedded = () => embedded.stop()
  }
  const { db } = connectDb(connectionString, 2)
  try {
    return await work(db)
  } finally {
    await db.destroy()
    await stopEmbedded?.()
  }
}

/** A migrated database and the default workspace, as every command but `migrate` needs. */
export async function withDatabase<T> (settings: Settings, work: (db: Db, workspaceId: string) => Promise<T>): Promise<T> {
  return await withConnection(settings, async db => {
    await migrateToLatest(db)
    return await work(db, await ensureWorkspace(db))
  })
}
