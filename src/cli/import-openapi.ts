// `toolgate import openapi <file|url> --server NAME …`: the importer applied to the stored config.
import { readFile, stat } from 'node:fs/promises'
import type { Settings } from '../config/settings.ts'
import { loadKeyRing } from '../crypto/key-file.ts'
import { runImport } from '../openapi/apply.ts'
import { formatSummary, OpenApiError, type ImportOptions, type OpenApiSource } from '../openapi/index.ts'
import { withDatabase } from './database.ts'
import { UsageError } from './main.ts'

type Values = Record<string, string | boolean | string[] | undefined>

function list (value: unknown): string[] | undefined {
  return Array.isArray(value) && value.length > 0 ? value as string[] : undefined
}

export async function importOpenApiCommand (settings: Settings, target: string, values: Values, print: (text: string) => void): Promise<number> {
  const server = values.server
  if (typeof server !== 'string' || server === '') throw new UsageError('import openapi needs --server <name>')
  const secrets: Record<string, string> = {}
  for (const pair of list(values.secret) ?? []) {
    const at = pair.indexOf('=')
    if (at === 0) throw new UsageError('--secret: expected NAME=VALUE, or NAME to read the value from the environment variable NAME')
    if (at > 0) {
      secrets[pair.slice(0, at)] = pair.slice(at + 1)
      continue
    }
    // `--secret NAME`: the value from the environment, so it never shows in the process list.
    const value = process.env[pair]
    if (value === undefined) throw new UsageError(`--secret ${pair}: no environment variable ${pair} (or give --secret ${pair}=VALUE)`)
    secrets[pair] = value
  }
  const options: ImportOptions = { server }
  if (typeof values.provider === 'string') options.provider = values.provider
  if (typeof values['base-url'] === 'string') options.baseUrl = values['base-url']
  const filters = {
    includeTags: list(values['include-tag']), excludeTags: list(values['exclude-tag']),
    includePaths: list(values['include-path']), excludePaths: list(values['exclude-path']),
    methods: list(values.method),
    includeOperations: list(values['include-operation']), excludeOperations: list(values['exclude-operation'])
  }
  for (const [key, value] of Object.entries(filters)) if (value) (options as unknown as Record<string, unknown>)[key] = value
  if (Object.keys(secrets).length > 0) options.secrets = secrets
  if (values['no-simplify']) options.simplify = false
  if (values['no-output-schemas']) options.outputSchemas = false
  if (values.prune) options.prune = true

  let source: OpenApiSource
  if (/^https?:\/\//i.test(target)) source = { url: target }
  else {
    let size: number
    try {
      size = (await stat(target)).size
    } catch (err) {
      throw new UsageError(`${target}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
    // Refused before reading: a huge file is never loaded into memory.
    if (size > settings.maxOpenApiBytes) throw new OpenApiError([{ path: '(document)', message: `${target} is ${size} bytes, over the limit of ${settings.maxOpenApiBytes} bytes (TOOLGATE_MAX_OPENAPI_BYTES)` }], 413)
    source = { text: await readFile(target, 'utf8') }
  }

  const dryRun = values['dry-run'] === true
  const { keyRing } = await loadKeyRing(settings.encryptionKeys, settings.dataDir, { generate: settings.databaseUrl === undefined })
  const outcome = await withDatabase(settings, (db, workspaceId) => runImport(db, keyRing, workspaceId, source, { ...options, dryRun, maxBytes: settings.maxOpenApiBytes }, {
    actor: 'cli',
    defaults: { timeoutMs: settings.upstreamTimeoutMs, maxResponseBytes: settings.maxResponseBytes }
  }), { keyRing })
  if (values.json) print(JSON.stringify({ ...outcome.plan, ...(outcome.configVersion !== undefined ? { configVersion: outcome.configVersion } : {}), dryRun }, null, 2))
  else {
    print(formatSummary(outcome.plan, dryRun))
    if (outcome.configVersion !== undefined) print(`Applied: config version ${outcome.configVersion}`)
  }
  return 0
}
