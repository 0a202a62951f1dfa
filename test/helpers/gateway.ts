// Starts a real gateway (real Postgres, real HTTP on a loopback port) for a test, with its log
// lines captured in memory so tests can read everything pino wrote.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { loadSettings, type Settings } from '../../src/config/settings.ts'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { connectDb } from '../../src/db/index.ts'
import { startGateway, type Gateway } from '../../src/runtime.ts'
import { createLogger } from '../../src/telemetry/logger.ts'
import { freshDatabase, stopTestCluster } from './database.ts'

export const ADMIN_TOKEN = 'tga_test-admin-token-0123456789abcdef'

export interface TestGateway {
  gateway: Gateway
  url: string
  settings: Settings
  databaseUrl: string
  /** Every line pino wrote, raw. */
  logs: string[]
  /** PUT /api/v1/config with a JSON document; returns the response. */
  applyConfig (document: unknown): Promise<Response>
  /** Creates an API key through the admin API; returns the key. */
  createKey (body?: Record<string, unknown>): Promise<string>
  admin (method: string, path: string, body?: unknown): Promise<Response>
  /** An MCP SDK client connected to /mcp/<server> with the key. */
  connect (server: string, key: string): Promise<Client>
  stop (): Promise<void>
}

/**
 * `env` overrides the settings. Passing DATABASE_URL (and the first gateway's
 * TOOLGATE_ENCRYPTION_KEYS) starts a second replica on the same database instead of a fresh one.
 */
export async function startTestGateway (t: Test, env: Record<string, string> = {}): Promise<TestGateway> {
  const databaseUrl = env.DATABASE_URL ?? await freshDatabase()
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-test-data-'))
  const settings = loadSettings({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    TOOLGATE_DATA_DIR: dataDir,
    TOOLGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    TOOLGATE_ENCRYPTION_KEYS: KeyRing.generateSpec('test1'),
    LOG_LEVEL: 'debug',
    ...env
  })
  const logs: string[] = []
  const sink = new Writable({
    write (chunk, _encoding, done) {
      logs.push(chunk.toString())
      done()
    }
  })
  const logger = createLogger(settings.logLevel, sink)
  const gateway = await startGateway(settings, { logger })
  const clients: Client[] = []
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    for (const client of clients) await client.close().catch(() => {})
    await gateway.close()
    await rm(dataDir, { recursive: true, force: true })
  }
  t.teardown(stop)

  const admin = (method: string, path: string, body?: unknown) => fetch(`${gateway.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })

  return {
    gateway,
    url: gateway.url,
    settings,
    databaseUrl,
    logs,
    admin,
    applyConfig: document => admin('PUT', '/config', document),
    async createKey (body = { endUser: 'alice' }) {
      const response = await admin('POST', '/api-keys', body)
      if (response.status !== 201) throw new Error(`creating an API key failed: ${response.status} ${await response.text()}`)
      return ((await response.json()) as { key: string }).key
    },
    async connect (server, key) {
      const client = new Client({ name: 'toolgate-test', version: '1.0.0' })
      const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/${server}`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } }
      })
      await client.connect(transport)
      clients.push(client)
      return client
    },
    stop
  }
}

/** Registers the cluster shutdown once per test file. */
export function useTestCluster (t: Test): void {
  t.teardown(stopTestCluster)
}

/** Direct database access for assertions (e.g. that no plaintext secret is stored). */
export function openTestDb (databaseUrl: string) {
  return connectDb(databaseUrl, 2)
}
