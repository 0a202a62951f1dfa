// API keys for MCP clients. Each belongs to an end user, may be limited to some servers and may
// expire. The key is shown once at creation; only its SHA-256 is stored.
import type { Db } from '../db/index.ts'
import type { ApiKeyRow } from '../db/types.ts'
import { notFound } from '../errors.ts'
import { hashToken, mintToken } from './tokens.ts'

export const API_KEY_PREFIX = 'tg_'
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8

export interface ApiKeyView {
  id: string
  name: string
  prefix: string
  endUser: string
  servers: string[] | null
  expiresAt: string | null
  revokedAt: string | null
  createdAt: string
}

export interface NewApiKey {
  name?: string
  endUser: string
  servers?: string[] | null
  expiresAt?: string | null
}

export interface ApiKeyUpdate {
  name?: string
  servers?: string[] | null
  expiresAt?: string | null
}

/** Who is calling, once a key checks out. */
export interface Principal {
  apiKeyId: string
  workspaceId: string
  endUserId: string
  servers: string[] | null
}

type Row = ApiKeyRow & { external_id: string }

function view (row: Row): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    endUser: row.external_id,
    servers: row.servers,
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    createdAt: new Date(row.created_at).toISOString()
  }
}

export async function ensureEndUser (db: Db, workspaceId: string, externalId: string): Promise<string> {
  await db.insertInto('end_users').values({ workspace_id: workspaceId, external_id: externalId })
    .onConflict(oc => oc.columns(['workspace_id', 'external_id']).doNothing()).execute()
  const row = await db.selectFrom('end_users').select('id')
    .where('workspace_id', '=', workspaceId).where('external_id', '=', externalId).executeTakeFirstOrThrow()
  return row.id
}

function keyQuery (db: Db, workspaceId: string) {
  return db.selectFrom('api_keys').innerJoin('end_users', 'end_users.id', 'api_keys.end_user_id')
    .selectAll('api_keys').select('end_users.external_id')
    .where('api_keys.workspace_id', '=', workspaceId)
}

export async function createApiKey (db: Db, workspaceId: string, input: NewApiKey): Promise<{ key: string, apiKey: ApiKeyView }> {
  const endUserId = await ensureEndUser(db, workspaceId, input.endUser)
  const key = mintToken(API_KEY_PREFIX)
  const row = await db.insertInto('api_keys').values({
    workspace_id: workspaceId,
    end_user_id: endUserId,
    name: input.name ?? `key for ${input.endUser}`,
    prefix: key.slice(0, DISPLAY_PREFIX_LENGTH),
    key_hash: hashToken(key),
    servers: input.servers ?? null,
    expires_at: input.expiresAt ? new Date(input.expiresAt) : null
  }).returning('id').executeTakeFirstOrThrow()
  return { key, apiKey: await getApiKey(db, workspaceId, row.id) }
}

export async function listApiKeys (db: Db, workspaceId: string): Promise<ApiKeyView[]> {
  return (await keyQuery(db, workspaceId).orderBy('api_keys.created_at').execute()).map(view)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export async function getApiKey (db: Db, workspaceId: string, id: string): Promise<ApiKeyView> {
  if (!UUID.test(id)) throw notFound(`API key ${id}`)
  const row = await keyQuery(db, workspaceId).where('api_keys.id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`API key ${id}`)
  return view(row)
}

export async function updateApiKey (db: Db, workspaceId: string, id: string, update: ApiKeyUpdate): Promise<ApiKeyView> {
  await getApiKey(db, workspaceId, id)
  const set: Record<string, unknown> = {}
  if (update.name !== undefined) set.name = update.name
  if (update.servers !== undefined) set.servers = update.servers
  if (update.expiresAt !== undefined) set.expires_at = update.expiresAt ? new Date(update.expiresAt) : null
  if (Object.keys(set).length > 0) await db.updateTable('api_keys').set(set).where('id', '=', id).execute()
  return await getApiKey(db, workspaceId, id)
}

export async function revokeApiKey (db: Db, workspaceId: string, id: string): Promise<ApiKeyView> {
  await getApiKey(db, workspaceId, id)
  await db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).execute()
  return await getApiKey(db, workspaceId, id)
}

export type KeyCheck =
  | { ok: true, principal: Principal }
  | { ok: false, reason: 'invalid' | 'expired' | 'revoked' }

interface CachedKey {
  row: Pick<ApiKeyRow, 'id' | 'workspace_id' | 'end_user_id' | 'servers' | 'expires_at' | 'revoked_at'>
  fetchedAt: number
}

/**
 * Verifies presented keys. Known keys are cached for `cacheMs` so the hot path does not query
 * Postgres per call; a revocation on this replica clears the cache at once, on another replica
 * it takes effect within `cacheMs`. Unknown keys are not cached (no memory growth from garbage).
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, CachedKey>()
  private readonly db: Db
  private readonly cacheMs: number
  private readonly now: () => number

  constructor (db: Db, options: { cacheMs?: number, now?: () => number } = {}) {
    this.db = db
    this.cacheMs = options.cacheMs ?? 5000
    this.now = options.now ?? Date.now
  }

  forget (): void {
    this.cache.clear()
  }

  async verify (key: string): Promise<KeyCheck> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return { ok: false, reason: 'invalid' }
    const hash = hashToken(key)
    const now = this.now()
    let cached = this.cache.get(hash)
    if (!cached || now - cached.fetchedAt > this.cacheMs) {
      const row = await this.db.selectFrom('api_keys')
        .select(['id', 'workspace_id', 'end_user_id', 'servers', 'expires_at', 'revoked_at'])
        .where('key_hash', '=', hash).executeTakeFirst()
      if (!row) {
        this.cache.delete(hash)
        return { ok: false, reason: 'invalid' }
      }
      cached = { row, fetchedAt: now }
      this.cache.set(hash, cached)
    }
    const { row } = cached
    if (row.revoked_at) return { ok: false, reason: 'revoked' }
    if (row.expires_at && row.expires_at.getTime() <= now) return { ok: false, reason: 'expired' }
    return { ok: true, principal: { apiKeyId: row.id, workspaceId: row.workspace_id, endUserId: row.end_user_id, servers: row.servers } }
  }
}
