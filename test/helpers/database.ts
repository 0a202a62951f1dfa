// A real Postgres for tests: TEST_DATABASE_URL's server when set, otherwise one embedded cluster
// per test process (in a temp dir, started once). Every caller gets a fresh database in it.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts'

let cluster: Promise<{ adminUrl: string, stop: () => Promise<void>, dataDir?: string }> | undefined
let counter = 0

async function startCluster (): Promise<{ adminUrl: string, stop: () => Promise<void>, dataDir?: string }> {
  if (process.env.TEST_DATABASE_URL) return { adminUrl: process.env.TEST_DATABASE_URL, stop: async () => {} }
  const dir = await mkdtemp(join(tmpdir(), 'toolgate-test-pg-'))
  const embedded: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir: dir })
  // tap ends a timed-out test file with a signal: stop the cluster then, or it outlives the run.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      embedded.stop().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)))
    })
  }
  return {
    adminUrl: embedded.connectionString,
    dataDir: dir,
    stop: async () => {
      await embedded.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** A new, empty database; returns its connection string. */
export async function freshDatabase (): Promise<string> {
  cluster ??= startCluster()
  const { adminUrl } = await cluster
  const name = `tg_${process.pid}_${Date.now().toString(36)}_${counter++}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** The embedded test cluster's directory (its data files, WAL, logs); undefined with TEST_DATABASE_URL. */
export async function testClusterDir (): Promise<string | undefined> {
  return cluster ? (await cluster).dataDir : undefined
}

/** Stops the embedded cluster (call from the test file's teardown). */
export async function stopTestCluster (): Promise<void> {
  if (!cluster) return
  const { stop } = await cluster
  cluster = undefined
  await stop()
}
