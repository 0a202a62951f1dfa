// The `toolgate` command.
import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys.ts'
import { resetAdminToken } from '../auth/admin-token.ts'
import { loadSettings } from '../config/settings.ts'
import { applyDocument, readDocument } from '../config/store.ts'
import { loadKeyRing } from '../crypto/key-file.ts'
import { KeyRing } from '../crypto/keyring.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { ConfigInvalidError } from '../errors.ts'
import { withConnection, withDatabase } from './database.ts'
import { IMPORT_OPTIONS } from './import-options.ts'

const HELP = `toolgate — a self-hosted MCP gateway

Usage: toolgate <command> [options]

Commands:
  serve                         Run the gateway (the default; same as npm start)
  migrate                       Apply pending database migrations and exit
  apply -f <file>               Apply a config document (YAML or JSON) atomically
  export [-o <file>] [--json]   Print the current config document (secret values are never included)
  import openapi <file|url> --server <name> [--provider <name>] [--base-url <url>]
        [--include-tag <tag>]… [--exclude-tag <tag>]… [--include-path <glob>]… [--exclude-path <glob>]…
        [--method <METHOD>]… [--include-operation <glob>]… [--exclude-operation <glob>]…
        [--secret NAME[=VALUE]]… [--no-simplify] [--no-output-schemas] [--dry-run] [--prune] [--json]
                                Import an OpenAPI 3.x / Swagger 2.0 document as tools (upsert by method + path)
  api-keys create --end-user <id> [--name <name>] [--servers a,b] [--expires-at <ISO date>]
  api-keys list                 List API keys (never the keys themselves)
  api-keys revoke <id>          Revoke an API key
  admin-token reset             Replace the stored admin token with a new one and print it once
  keygen                        Print a new encryption key entry for TOOLGATE_ENCRYPTION_KEYS
  keys rotate [--batch-size N]  Re-seal every secret and token under the first key of the ring, online;
                                then the other keys can be removed

Settings come from the environment (DATABASE_URL, TOOLGATE_DATA_DIR, TOOLGATE_ENCRYPTION_KEYS, …);
see the README's configuration reference.
`

function print (text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n')
}

export async function run (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      file: { type: 'string', short: 'f' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
      'end-user': { type: 'string' },
      name: { type: 'string' },
      servers: { type: 'string' },
      'expires-at': { type: 'string' },
      'batch-size': { type: 'string' },
      ...IMPORT_OPTIONS
    }
  })
  const [command = 'serve', sub, arg] = positionals
  if (values.help || command === 'help') {
    print(HELP)
    return 0
  }
  const settings = loadSettings()

  switch (command) {
    case 'serve': {
      // Loaded only here: the gateway's modules would add most of every other command's start time.
      const { serve } = await import('../main.ts')
      await serve()
      return -1 // keep running
    }
    case 'migrate': {
      const applied = await withConnection(settings, db => migrateToLatest(db))
      print(applied.length ? `Applied: ${applied.join(', ')}` : 'Database schema is up to date')
      return 0
    }
    case 'apply': {
      if (!values.file) throw new UsageError('apply needs -f <file>')
      const text = await readFile(values.file, 'utf8')
      let document: unknown
      try {
        document = values.file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
      } catch (err) {
        throw new UsageError(`${values.file} is not valid ${values.file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`)
      }
      // With DATABASE_URL the gateway may run elsewhere with its own key: a key generated here
      // would seal secrets no gateway can open. Only the embedded default may generate one.
      const { keyRing } = await loadKeyRing(settings.encryptionKeys, settings.dataDir, { generate: settings.databaseUrl === undefined })
      const version = await withDatabase(settings, (db, workspaceId) => applyDocument(db, keyRing, workspaceId, document, {
        actor: 'cli',
        defaults: { timeoutMs: settings.upstreamTimeoutMs, maxResponseBytes: settings.maxResponseBytes }
      }), { keyRing })
      print(`Applied ${values.file}: config version ${version}`)
      return 0
    }
    case 'export': {
      const { document } = await withDatabase(settings, (db, workspaceId) => readDocument(db, workspaceId))
      const text = values.json ? JSON.stringify(document, null, 2) + '\n' : stringifyYaml(document)
      if (values.output) await writeFile(values.output, text)
      else process.stdout.write(text)
      return 0
    }
    case 'import': {
      if (sub !== 'openapi' || !arg) throw new UsageError('usage: toolgate import openapi <file|url> --server <name>')
      const { importOpenApiCommand } = await import('./import-openapi.ts')
      return await importOpenApiCommand(settings, arg, values, print)
    }
    case 'api-keys':
      return await apiKeys(sub, arg, values)
    case 'admin-token':
      if (sub !== 'reset') throw new UsageError('usage: toolgate admin-token reset')
      print(`New admin token (shown once): ${await withDatabase(settings, resetAdminToken)}`)
      return 0
    case 'keys': {
      if (sub !== 'rotate') throw new UsageError('usage: toolgate keys rotate [--batch-size N]')
      const batchSize = values['batch-size'] === undefined ? 100 : Number(values['batch-size'])
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new UsageError('--batch-size must be an integer from 1 to 10000')
      const { keyRing } = await loadKeyRing(settings.encryptionKeys, settings.dataDir, { generate: false })
      const { rotateSecrets } = await import('../crypto/rotate.ts')
      const report = await withDatabase(settings, db => rotateSecrets(db, keyRing, { batchSize }), { keyRing })
      const r = report.resealed
      print(`Re-sealed under key ${report.activeKeyId}: ${r.variables} secret variables, ${r.providerSecrets} OAuth client secrets, ${r.oauthTokens} OAuth token rows, ${r.oauthStates} consent states`)
      const old = report.keysInUse.filter(id => id !== report.activeKeyId)
      const retired = keyRing.keyIds.filter(id => id !== report.activeKeyId && !old.includes(id))
      if (old.length > 0) print(`Still sealed with ${old.join(', ')} (written during the run by a process whose first key is another one): run again once every replica has ${report.activeKeyId} first`)
      else if (retired.length > 0) print(`Nothing is sealed with ${retired.join(', ')} any more: remove ${retired.length === 1 ? 'it' : 'them'} from TOOLGATE_ENCRYPTION_KEYS and restart`)
      else print('Only the active key is in use')
      return old.length > 0 ? 1 : 0
    }
    case 'keygen':
      print(KeyRing.generateSpec())
      return 0
    default:
      throw new UsageError(`unknown command "${command}"`)
  }

  async function apiKeys (action: string | undefined, id: string | undefined, options: typeof values): Promise<number> {
    if (action === 'create') {
      if (!options['end-user']) throw new UsageError('api-keys create needs --end-user <id>')
      const expiresAt = options['expires-at']
      if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) throw new UsageError(`--expires-at: "${expiresAt}" is not a date (use ISO 8601, e.g. 2030-01-31T00:00:00Z)`)
      const { key, apiKey } = await withDatabase(settings, (db, workspaceId) => createApiKey(db, workspaceId, {
        endUser: options['end-user']!,
        ...(options.name ? { name: options.name } : {}),
        servers: options.servers ? options.servers.split(',').map(s => s.trim()).filter(Boolean) : null,
        expiresAt: expiresAt ?? null
      }))
      print(`API key ${apiKey.id} for end user "${apiKey.endUser}"${apiKey.servers ? ` (servers: ${apiKey.servers.join(', ')})` : ''}`)
      print(`Key (shown once): ${key}`)
      return 0
    }
    if (action === 'list') {
      const keys = await withDatabase(settings, listApiKeys)
      for (const k of keys) print(`${k.id}  ${k.prefix}…  ${k.endUser}  ${k.name}${k.revokedAt ? '  REVOKED' : ''}${k.expiresAt ? `  expires ${k.expiresAt}` : ''}`)
      if (keys.length === 0) print('No API keys')
      return 0
    }
    if (action === 'revoke') {
      if (!id) throw new UsageError('usage: toolgate api-keys revoke <id>')
      await withDatabase(settings, (db, workspaceId) => revokeApiKey(db, workspaceId, id))
      print(`Revoked ${id}`)
      return 0
    }
    throw new UsageError('usage: toolgate api-keys create|list|revoke')
  }
}

export class UsageError extends Error {}

export async function main (argv = process.argv.slice(2)): Promise<void> {
  try {
    const code = await run(argv)
    if (code >= 0) process.exit(code)
  } catch (err) {
    if (err instanceof ConfigInvalidError) process.stderr.write(`toolgate: ${err.message}\n`)
    else if (err instanceof UsageError) process.stderr.write(`toolgate: ${err.message}\n\n${HELP}`)
    else process.stderr.write(`toolgate: ${(err as Error).message}\n`)
    process.exit(err instanceof UsageError ? 2 : 1)
  }
}
