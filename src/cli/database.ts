// How a CLI command reaches the database: DATABASE_URL; or the embedded cluster a running gateway
// already serves from the data dir; or, when none runs, the embedded cluster started for the
// command and stopped after it.
import type { Settings } from '../config/settings.ts'
import { connectToRunningEmbedded, startEmbeddedPostgres } from '../db/embedded.ts'
import { connectDb, type Db } from '../db/index.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { ensureWorkspace } from '../db/workspaces.ts'

export async function withDatabase<T> (settings: Settings, work: (db: Db, workspaceId: string) => Promise<T>, options: { migrate?: boolean } = {}): Promise<T> {
  let connectionString = settings.databaseUrl ?? await connectToRunningEmbedded(settings.dataDir)
  let stopEmbedded: (() => Promise<void>) | undefined
  if (!connectionString) {
    const embedded = await startEmbeddedPostgres({ dataDir: settings.dataDir })
    connectionString = embedded.connectionString
    stopEmbedded = () => embedded.stop()
  }
  const { db } = connectDb(connectionString, 2)
  try {
    if (options.migrate !== false) await migrateToLatest(db)
    return await work(db, await ensureWorkspace(db))
  } finally {
    await db.destroy()
    await stopEmbedded?.()
  }
}
