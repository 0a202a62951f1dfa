// Process entry: `npm start` and `toolgate serve`. Settings → gateway → listen; SIGINT/SIGTERM
// close everything (HTTP, pools, database, embedded Postgres) before exiting.
import { loadSettings } from './config/settings.ts'
import { startGateway } from './runtime.ts'
import { createLogger } from './telemetry/logger.ts'

export async function serve (): Promise<void> {
  const settings = loadSettings()
  const logger = createLogger(settings.logLevel)
  const gateway = await startGateway(settings, { logger })

  // Printed, not logged: the admin token must never reach a log line. Shown once; only its hash is kept.
  const out: string[] = ['', `Toolgate is listening on ${gateway.url}`, `  MCP endpoint:  ${gateway.url}/mcp/<server>`, `  Admin API:     ${gateway.url}/api/v1`]
  if (gateway.generatedAdminToken) {
    out.push('', `  Admin token (shown once, only a hash is stored): ${gateway.generatedAdminToken}`)
  }
  if (gateway.generatedKeyFile) out.push('', `  Generated an encryption key in ${gateway.generatedKeyFile} — back it up: secrets cannot be read without it.`)
  process.stdout.write(out.join('\n') + '\n\n')

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    gateway.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}

if (import.meta.main) {
  serve().catch(err => {
    process.stderr.write(`toolgate: ${(err as Error).message}\n`)
    if ((err as Error).cause) process.stderr.write(`  cause: ${String(((err as Error).cause as Error)?.message ?? (err as Error).cause)}\n`)
    process.exit(1)
  })
}
