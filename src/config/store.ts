// The config document in Postgres: read it back (export), resolve its variables (secrets opened
// with the key ring) and apply a whole new document atomically. A document that fails any check
// changes nothing; a successful apply bumps the workspace's config version and NOTIFYs replicas.
import { sql, type Selectable, type Transaction } from 'kysely'
import type { Db } from '../db/index.ts'
import type { Database, InterceptorsTable } from '../db/types.ts'
import { KeyRingError, type KeyRing } from '../crypto/keyring.ts'
import { ConfigInvalidError, StaleVersionError, type ConfigProblem } from '../errors.ts'
import { configChangeSummary, recordAudit } from '../telemetry/audit.ts'
import { compileConfig, type CompileDefaults } from '../tools/compile.ts'
import type { CompiledConfig } from '../tools/compiled.ts'
import type { InterceptorRuntime } from '../interceptors/index.ts'
import {
  REMOTE_MCP_FIELDS, STDIO_FIELDS, UPSTREAM_COMMON_FIELDS,
  type ConfigDocument, type InterceptorChainsDoc, type InterceptorDoc, type ParameterDoc, type ProviderDoc, type ServerDoc, type ToolDoc, type VariableDoc
} from './document.ts'
import { secretReference } from './oauth.ts'
import { resolvedBaseUrlProblems, validateDocument } from './validate.ts'

export const CONFIG_CHANNEL = 'toolgate_config'

/** Associated data binding a sealed variable to its row identity (workspace and name). */
export function variableAad (workspaceId: string, name: string): string {
  return `variables/${workspaceId}/${name}`
}

/** Associated data binding a provider's sealed OAuth client secret to the provider (workspace and name). */
export function providerSecretAad (workspaceId: string, provider: string): string {
  return `providers/${workspaceId}/${provider}/oauth_client_secret`
}

/** A provider's sealed literal client secrets, by name. */
async function readProviderSecrets (db: Db | Transaction<Database>, workspaceId: string): Promise<Map<string, { data: Buffer, keyId: string }>> {
  const rows = await db.selectFrom('providers').select(['name', 'oauth_client_secret', 'oauth_client_secret_key_id'])
    .where('workspace_id', '=', workspaceId).where('oauth_client_secret', 'is not', null).execute()
  return new Map(rows.map(row => [row.name, { data: row.oauth_client_secret!, keyId: row.oauth_client_secret_key_id! }]))
}

function openProviderSecrets (sealed: Map<string, { data: Buffer, keyId: string }>, keyRing: KeyRing, workspaceId: string): Map<string, string> {
  return new Map([...sealed].map(([name, value]) => [name, keyRing.openText(value, providerSecretAad(workspaceId, name))]))
}

const UPSTREAM_FIELDS = [...REMOTE_MCP_FIELDS, ...STDIO_FIELDS, ...UPSTREAM_COMMON_FIELDS] as const

/** The upstream fields of a remote-mcp / stdio server, as written (variables unresolved): the `upstream` column. */
function upstreamColumn (server: ServerDoc): string | null {
  if ((server.kind ?? 'api') === 'api') return null
  const fields: Record<string, unknown> = {}
  for (const field of UPSTREAM_FIELDS) if (server[field] !== undefined) fields[field] = server[field]
  return JSON.stringify(fields)
}

function strip<T extends object> (value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) {
    if (value[key] === null || value[key] === undefined) delete value[key]
  }
  return value
}

/** What a tool without `input` takes: no arguments. Stored as such, exported as no `input`. */
const DEFAULT_INPUT = { type: 'object', properties: {} }

function isDefaultInput (schema: Record<string, unknown>): boolean {
  return JSON.stringify(schema) === JSON.stringify(DEFAULT_INPUT)
}

interface StoredVariable {
  name: string
  kind: 'ENV' | 'SECRET'
  description: string | null
  value: string | null
  sealed_value: Buffer | null
  key_id: string | null
}

async function readVariables (db: Db | Transaction<Database>, workspaceId: string): Promise<StoredVariable[]> {
  return await db.selectFrom('variables')
    .select(['name', 'kind', 'description', 'value', 'sealed_value', 'key_id'])
    .where('workspace_id', '=', workspaceId).orderBy('position').execute()
}

/**
 * Runs `work` in one read-only repeatable-read transaction, so the several queries that make up a
 * document all see the same committed apply (separate pool connections could each see another).
 */
async function inSnapshot<T> (db: Db | Transaction<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return await work(db as Transaction<Database>)
  return await db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work)
}

/** The stored document. SECRET variables come without their value. */
export async function readDocument (db: Db | Transaction<Database>, workspaceId: string): Promise<{ document: ConfigDocument, version: number }> {
  return await inSnapshot(db, trx => readDocumentIn(trx, workspaceId))
}

async function readDocumentIn (db: Transaction<Database>, workspaceId: string): Promise<{ document: ConfigDocument, version: number }> {
  const [workspace, variables, providers, servers, tools, interceptors] = await Promise.all([
    db.selectFrom('workspaces').select('config_version').where('id', '=', workspaceId).executeTakeFirstOrThrow(),
    readVariables(db, workspaceId),
    db.selectFrom('providers').selectAll().where('workspace_id', '=', workspaceId).orderBy('position').execute(),
    db.selectFrom('servers').selectAll().where('workspace_id', '=', workspaceId).orderBy('position').execute(),
    db.selectFrom('tools').innerJoin('providers', 'providers.id', 'tools.provider_id')
      .selectAll('tools').select('providers.name as provider_name')
      .where('tools.workspace_id', '=', workspaceId).orderBy('tools.position').execute(),
    db.selectFrom('interceptors').selectAll().where('workspace_id', '=', workspaceId).orderBy('position').execute()
  ])
  const chainsOf = (serverId: string, toolId: string | null, declared: string[]): InterceptorChainsDoc => {
    const chains: InterceptorChainsDoc = {}
    for (const phase of declared) if (phase === 'request' || phase === 'response') chains[phase] = []
    for (const row of interceptors) {
      if (row.server_id !== serverId || row.tool_id !== toolId) continue
      ;(chains[row.phase] ??= []).push(interceptorDoc(row))
    }
    return chains
  }
  const document: ConfigDocument = {
    variables: variables.map(v => strip<VariableDoc>({
      name: v.name,
      kind: v.kind,
      description: v.description ?? undefined,
      value: v.kind === 'ENV' ? v.value ?? undefined : undefined
    })),
    providers: providers.map(p => strip<ProviderDoc>({
      name: p.name,
      description: p.description ?? undefined,
      baseUrl: p.base_url,
      headers: Object.keys(p.headers).length > 0 ? p.headers : undefined,
      timeoutMs: p.timeout_ms ?? undefined,
      maxResponseBytes: p.max_response_bytes ?? undefined,
      oauth: (p.oauth as ProviderDoc['oauth'] | null) ?? undefined
    })),
    servers: servers.map(s => strip<ServerDoc>({
      name: s.name,
      kind: s.kind === 'api' ? undefined : s.kind,
      title: s.title ?? undefined,
      description: s.description ?? undefined,
      instructions: s.instructions ?? undefined,
      ...chainsOf(s.id, null, s.chains_declared),
      discovery: s.discovery ? true : undefined,
      ...(s.kind === 'api' ? {} : upstreamFields(s.upstream)),
      tools: s.kind !== 'api' ? undefined : tools.filter(t => t.server_id === s.id).map(t => strip<ToolDoc>({
        name: t.name,
        title: t.title ?? undefined,
        description: t.description ?? undefined,
        provider: t.provider_name,
        method: t.method as ToolDoc['method'],
        path: t.path,
        input: isDefaultInput(t.input_schema) ? undefined : t.input_schema,
        output: t.output_schema ?? undefined,
        parameters: Object.keys(t.parameters).length > 0 ? t.parameters as Record<string, ParameterDoc> : undefined,
        headers: Object.keys(t.headers).length > 0 ? t.headers : undefined,
        timeoutMs: t.timeout_ms ?? undefined,
        maxResponseBytes: t.max_response_bytes ?? undefined,
        scopes: t.scopes.length > 0 ? t.scopes : undefined,
        annotations: t.annotations ?? undefined,
        ...chainsOf(s.id, t.id, t.chains_declared)
      }))
    }))
  }
  return { document, version: Number(workspace.config_version) }
}

type StoredInterceptor = Pick<Selectable<InterceptorsTable>, 'engine' | 'name' | 'code' | 'timeout_ms' | 'memory_mb' | 'max_output_bytes'>

function interceptorDoc (row: StoredInterceptor): InterceptorDoc {
  return strip<InterceptorDoc>({
    name: row.name ?? undefined,
    [row.engine]: row.code,
    timeoutMs: row.timeout_ms ?? undefined,
    memoryMb: row.memory_mb ?? undefined,
    maxOutputBytes: row.max_output_bytes ?? undefined
  })
}

/** The phases a tool or server declares, even as empty chains. */
function chainsDeclared (chains: InterceptorChainsDoc): string[] {
  return (['request', 'response'] as const).filter(phase => chains[phase] !== undefined)
}

/** Rows for the interceptors of one tool (or, with toolId null, a server's defaults). */
function interceptorRows (chains: InterceptorChainsDoc, workspaceId: string, serverId: string, toolId: string | null) {
  return (['request', 'response'] as const).flatMap(phase => (chains[phase] ?? []).map((doc, position) => ({
    workspace_id: workspaceId,
    server_id: serverId,
    tool_id: toolId,
    phase,
    engine: doc.js !== undefined ? 'js' as const : 'jmespath' as const,
    name: doc.name ?? null,
    code: (doc.js ?? doc.jmespath)!,
    timeout_ms: doc.timeoutMs ?? null,
    memory_mb: doc.memoryMb ?? null,
    max_output_bytes: doc.maxOutputBytes ?? null,
    position
  })))
}

function upstreamFields (column: Record<string, unknown> | null): Partial<ServerDoc> {
  const fields: Record<string, unknown> = {}
  for (const field of UPSTREAM_FIELDS) if (column?.[field] !== undefined) fields[field] = column[field]
  return fields as Partial<ServerDoc>
}

/** The `oauth` column: the block as written, minus a literal client secret (sealed beside it). */
function storedOAuth (oauth: NonNullable<ProviderDoc['oauth']>): NonNullable<ProviderDoc['oauth']> {
  if (oauth.clientSecret === undefined || secretReference(oauth.clientSecret) !== undefined) return oauth
  const { clientSecret: _, ...rest } = oauth
  return rest
}

/** Plaintext values of every variable, secrets opened. Held in memory only. */
export function variableValues (stored: StoredVariable[], keyRing: KeyRing, workspaceId: string): Map<string, string> {
  const values = new Map<string, string>()
  for (const v of stored) {
    if (v.kind === 'ENV') values.set(v.name, v.value ?? '')
    else values.set(v.name, keyRing.openText({ keyId: v.key_id!, data: v.sealed_value! }, variableAad(workspaceId, v.name)))
  }
  return values
}

/** Reads, resolves and compiles the workspace's current config, interceptor chains included. */
export async function loadCompiledConfig (
  db: Db, keyRing: KeyRing, workspaceId: string, defaults: CompileDefaults, interceptors?: InterceptorRuntime
): Promise<CompiledConfig> {
  // Document and values from the same snapshot: a version compiled with another version's values
  // would never be corrected (the next refresh sees no newer version).
  const { document, version, stored, providerSecrets } = await inSnapshot(db, async trx => ({
    ...await readDocumentIn(trx, workspaceId),
    stored: await readVariables(trx, workspaceId),
    providerSecrets: await readProviderSecrets(trx, workspaceId)
  }))
  return compileConfig(document, version, variableValues(stored, keyRing, workspaceId), defaults, interceptors,
    openProviderSecrets(providerSecrets, keyRing, workspaceId))
}

export interface ApplyOptions {
  actor: string
  defaults: CompileDefaults
  /** Refuse (StaleVersionError) unless the stored version is still this one. */
  expectedVersion?: number
  /** The audit row's action and target (default `config.apply`, `version <n>`). */
  audit?: { action: string, target?: string }
}

/**
 * Replaces the workspace's whole config with `input`, atomically. Validation, secret resolution
 * and a full compile happen inside the transaction, before anything is written.
 */
export async function applyDocument (db: Db, keyRing: KeyRing, workspaceId: string, input: unknown, options: ApplyOptions): Promise<number> {
  const doc = validateDocument(input)
  return await db.transaction().execute(async trx => {
    // One writer per workspace at a time; readers are not blocked.
    const workspace = await trx.selectFrom('workspaces').select('config_version')
      .where('id', '=', workspaceId).forUpdate().executeTakeFirstOrThrow()
    if (options.expectedVersion !== undefined && Number(workspace.config_version) !== options.expectedVersion) throw new StaleVersionError()
    // The config as it was, for the audit row's before/after summary (secret values are not in it).
    const previous = await readDocumentIn(trx, workspaceId)
    const stored = new Map((await readVariables(trx, workspaceId)).map(v => [v.name, v]))

    const problems: ConfigProblem[] = []
    const values = new Map<string, string>()
    const variableRows = (doc.variables ?? []).map((variable, position) => {
      const base = { workspace_id: workspaceId, name: variable.name, kind: variable.kind, description: variable.description ?? null, position }
      if (variable.kind === 'ENV') {
        values.set(variable.name, variable.value!)
        return { ...base, value: variable.value!, sealed_value: null, key_id: null }
      }
      if (variable.value !== undefined) {
        values.set(variable.name, variable.value)
        const sealed = keyRing.seal(variable.value, variableAad(workspaceId, variable.name))
        return { ...base, value: null, sealed_value: sealed.data, key_id: sealed.keyId }
      }
      const previous = stored.get(variable.name)
      if (previous?.kind !== 'SECRET') {
        problems.push({ path: `variables[${position}].value`, message: 'is required for a new SECRET variable (stored secrets are never exported, so re-applying an export keeps them)' })
        return { ...base, value: null, sealed_value: null, key_id: null }
      }
      try {
        values.set(variable.name, keyRing.openText({ keyId: previous.key_id!, data: previous.sealed_value! }, variableAad(workspaceId, variable.name)))
      } catch (err) {
        // A key removed from the ring too early: say which secret and how to recover, not a 500.
        if (!(err instanceof KeyRingError)) throw err
        problems.push({ path: `variables[${position}].value`, message: `the stored secret cannot be opened (${err.message}); give a new value or restore the key` })
      }
      return { ...base, value: null, sealed_value: previous.sealed_value, key_id: previous.key_id }
    })
    problems.push(...resolvedBaseUrlProblems(doc, values))

    // OAuth client secrets given as literals are sealed here; one left out keeps the stored one
    // (exports never carry it), unless the provider became a public client.
    const previousSecrets = await readProviderSecrets(trx, workspaceId)
    const providerSecrets = new Map<string, string>()
    const sealedSecrets = new Map<string, { data: Buffer, keyId: string }>()
    ;(doc.providers ?? []).forEach((provider, i) => {
      const oauth = provider.oauth
      if (!oauth || oauth.clientAuthMethod === 'none' || (oauth.clientSecret !== undefined && secretReference(oauth.clientSecret) !== undefined)) return
      if (oauth.clientSecret !== undefined) {
        providerSecrets.set(provider.name, oauth.clientSecret)
        sealedSecrets.set(provider.name, keyRing.seal(oauth.clientSecret, providerSecretAad(workspaceId, provider.name)))
        return
      }
      const kept = previousSecrets.get(provider.name)
      if (!kept) return // compileConfig reports a missing secret the method needs
      try {
        providerSecrets.set(provider.name, keyRing.openText(kept, providerSecretAad(workspaceId, provider.name)))
        sealedSecrets.set(provider.name, kept)
      } catch (err) {
        if (!(err instanceof KeyRingError)) throw err
        problems.push({ path: `providers[${i}].oauth.clientSecret`, message: `the stored client secret cannot be opened (${err.message}); give it again or restore the key` })
      }
    })
    if (problems.length > 0) throw new ConfigInvalidError(problems)

    const version = Number(workspace.config_version) + 1
    compileConfig(doc, version, values, options.defaults, undefined, providerSecrets) // throws with paths; nothing written yet

    // Connection state is not config: a server that keeps its name and kind keeps its status and
    // last connection time across applies (the upstream manager updates them if its spec changed).
    const connectionState = new Map((await trx.selectFrom('servers').select(['name', 'kind', 'status', 'last_connected_at'])
      .where('workspace_id', '=', workspaceId).execute()).map(row => [`${row.kind}/${row.name}`, row]))
    await trx.deleteFrom('servers').where('workspace_id', '=', workspaceId).execute() // tools cascade
    await trx.deleteFrom('providers').where('workspace_id', '=', workspaceId).execute()
    await trx.deleteFrom('variables').where('workspace_id', '=', workspaceId).execute()
    if (variableRows.length > 0) await trx.insertInto('variables').values(variableRows).execute()

    const providerIds = new Map<string, string>()
    for (const [position, p] of (doc.providers ?? []).entries()) {
      const row = await trx.insertInto('providers').values({
        workspace_id: workspaceId,
        name: p.name,
        description: p.description ?? null,
        base_url: p.baseUrl,
        headers: JSON.stringify(p.headers ?? {}),
        timeout_ms: p.timeoutMs ?? null,
        max_response_bytes: p.maxResponseBytes ?? null,
        oauth: p.oauth ? JSON.stringify(storedOAuth(p.oauth)) : null,
        oauth_client_secret: sealedSecrets.get(p.name)?.data ?? null,
        oauth_client_secret_key_id: sealedSecrets.get(p.name)?.keyId ?? null,
        position
      }).returning('id').executeTakeFirstOrThrow()
      providerIds.set(p.name, row.id)
    }

    let toolPosition = 0
    for (const [position, s] of (doc.servers ?? []).entries()) {
      const kind = s.kind ?? 'api'
      const previous = connectionState.get(`${kind}/${s.name}`)
      const server = await trx.insertInto('servers').values({
        workspace_id: workspaceId,
        name: s.name,
        kind,
        title: s.title ?? null,
        description: s.description ?? null,
        instructions: s.instructions ?? null,
        upstream: upstreamColumn(s),
        chains_declared: chainsDeclared(s),
        discovery: s.discovery === true,
        ...(previous ? { status: previous.status, last_connected_at: previous.last_connected_at } : kind === 'api' ? {} : { status: 'deploying' }),
        config_version: version,
        position
      }).returning('id').executeTakeFirstOrThrow()
      const interceptors = interceptorRows(s, workspaceId, server.id, null)
      const tools = s.tools ?? []
      if (tools.length > 0) {
        const toolRows = await trx.insertInto('tools').values(tools.map(t => ({
          workspace_id: workspaceId,
          server_id: server.id,
          provider_id: providerIds.get(t.provider)!,
          name: t.name,
          title: t.title ?? null,
          description: t.description ?? null,
          method: t.method,
          path: t.path,
          input_schema: JSON.stringify(t.input ?? DEFAULT_INPUT),
          output_schema: t.output ? JSON.stringify(t.output) : null,
          parameters: JSON.stringify(t.parameters ?? {}),
          headers: JSON.stringify(t.headers ?? {}),
          timeout_ms: t.timeoutMs ?? null,
          max_response_bytes: t.maxResponseBytes ?? null,
          scopes: t.scopes ?? [],
          annotations: t.annotations ? JSON.stringify(t.annotations) : null,
          position: toolPosition++,
          chains_declared: chainsDeclared(t)
        }))).returning(['id', 'name']).execute()
        // Matched by name (unique per server): RETURNING does not promise the VALUES order.
        const toolIds = new Map(toolRows.map(row => [row.name, row.id]))
        for (const t of tools) interceptors.push(...interceptorRows(t, workspaceId, server.id, toolIds.get(t.name)!))
      }
      if (interceptors.length > 0) await trx.insertInto('interceptors').values(interceptors).execute()
    }

    await trx.updateTable('workspaces').set({ config_version: version }).where('id', '=', workspaceId).execute()
    await recordAudit(trx, {
      workspaceId,
      actor: options.actor,
      action: options.audit?.action ?? 'config.apply',
      target: options.audit?.target ?? `version ${version}`,
      details: configChangeSummary(previous, await readDocumentIn(trx, workspaceId))
    })
    // Delivered at commit, to every replica listening (tools/registry.ts).
    await sql`select pg_notify(${CONFIG_CHANNEL}, ${JSON.stringify({ workspaceId, version })})`.execute(trx)
    return version
  })
}
