// A real Toolgate for the conformance run: embedded Postgres (the test cluster helper), the real
// boot sequence (src/runtime.ts), loopback only. Logs go to a file, not the console, so the
// suites' output stays readable.
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadSettings } from '../../src/config/settings.ts'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { startGateway, type Gateway } from '../../src/runtime.ts'
import { createLogger } from '../../src/telemetry/logger.ts'
import { freshDatabase, stopTestCluster } from '../helpers/database.ts'

const ADMIN_TOKEN = 'tga_conformance-admin-token-0123456789'

export interface ConformanceGateway {
  url: string
  logFile: string
  /** PUT /api/v1/config; resolves to the status and body text. */
  applyConfig (document: unknown): Promise<{ status: number, text: string }>
  createKey (): Promise<string>
  stop (): Promise<void>
}

/**
 * `publicUrl` is the address clients use (the auth forwarder), so Origin checks accept it.
 * `logFile` receives the gateway's log lines.
 */
export async function startConformanceGateway (publicUrl: string, logFile: string): Promise<ConformanceGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-conformance-'))
  const settings = loadSettings({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: await freshDatabase(),
    TOOLGATE_DATA_DIR: dataDir,
    TOOLGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    TOOLGATE_ENCRYPTION_KEYS: KeyRing.generateSpec('conformance1'),
    TOOLGATE_PUBLIC_URL: publicUrl,
    // The suites open many sessions from one address in a few seconds.
    TOOLGATE_RATE_LIMIT_MCP: '100000/minute',
    LOG_LEVEL: 'info'
  })
  const logStream = createWriteStream(logFile)
  let gateway: Gateway
  try {
    gateway = await startGateway(settings, { logger: createLogger(settings.logLevel, logStream) })
  } catch (err) {
    await stopTestCluster()
    throw err
  }

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    return { status: response.status, text: await response.text() }
  }

  return {
    url: gateway.url,
    logFile,
    applyConfig: document => admin('PUT', '/config', document),
    async createKey () {
      const { status, text } = await admin('POST', '/api-keys', { endUser: 'conformance', name: 'conformance suite' })
      if (status !== 201) throw new Error(`creating an API key failed: ${status} ${text}`)
      return (JSON.parse(text) as { key: string }).key
    },
    async stop () {
      await gateway.close()
      await stopTestCluster()
      await new Promise<void>(resolve => logStream.end(() => resolve()))
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}
