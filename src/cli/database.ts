// How a CLI command reaches the database: DATABASE_URL; or the embedded cluster a running gateway
// already serves from the data dir; or, when none runs, the embedded cluster started for the
// command and stopped after it.
import type { Settings } from '../config/settings.ts'
import { checkKeyRing } from '../crypto/key-check.ts'
import type { KeyRing } from '../crypto/keyring.ts'
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
  // Ctrl-C during a command must not leave the cluster this command started running.
  const interrupted = (signal: NodeJS.Signals): void => {
    void (stopEmbedded?.() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  if (stopEmbedded) {
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
  }
  const { db } = connectDb(connectionString, 2)
  try {
    return await work(db)
  } finally {
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
    await db.destroy()
    await stopEmbedded?.()
  }
}

/**
 * A migrated database and the default workspace, as every command but `migrate` needs. With a key
 * ring (commands that seal or open secrets), the ring is first checked against the keys the
 * database has seen, as the gateway does at start: a wrong key must not seal anything.
 */
export async function withDatabase<T> (settings: Settings, work: (db: Db, workspaceId: string) => Promise<T>, options: { keyRing?: KeyRing } = {}): Promise<T> {
  return await withConnection(settings, async db => {
    await migrateToLatest(db)
    if (options.keyRing) await checkKeyRing(db, options.keyRing)
    return await work(db, await ensureWorkspace(db))
  })
}
