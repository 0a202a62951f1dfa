// The token vault: one row per end user × provider. Access and refresh tokens are sealed with
// AES-256-GCM (crypto/keyring.ts) with the row's identity and the field as associated data, so a
// ciphertext copied to another row, user, provider or field fails to open.
import type { Transaction } from 'kysely'
import type { KeyRing } from '../crypto/keyring.ts'
import type { Db } from '../db/index.ts'
import type { Database } from '../db/types.ts'
import type { TokenSet } from './client.ts'

export function tokenAad (workspaceId: string, endUserId: string, provider: string, field: 'access_token' | 'refresh_token'): string {
  return `oauth_tokens/${workspaceId}/${endUserId}/${provider}/${field}`
}

/** A grant as calls use it (plaintext, in memory only). */
export interface Grant {
  accessToken: string
  refreshToken?: string
  tokenType: string
  expiresAt?: Date
  scopes: string[]
}

/** What the connection APIs show: never a token. */
export interface ConnectionInfo {
  endUserId: string
  endUser: string
  provider: string
  scopes: string[]
  expiresAt: string | null
  hasRefreshToken: boolean
  grantedAt: string
  refreshedAt: string | null
}

type Executor = Db | Transaction<Database>

export class TokenVault {
  private readonly db: Db
  private readonly keyRing: KeyRing
  private readonly workspaceId: string

  constructor (db: Db, keyRing: KeyRing, workspaceId: string) {
    this.db = db
    this.keyRing = keyRing
    this.workspaceId = workspaceId
  }

  get database (): Db {
    return this.db
  }

  /** The end user's grant for a provider; `forUpdate` locks the row until the transaction ends. */
  async read (endUserId: string, provider: string, executor: Executor = this.db, forUpdate = false): Promise<Grant | undefined> {
    let query = executor.selectFrom('oauth_tokens')
      .select(['access_token', 'refresh_token', 'key_id', 'token_type', 'expires_at', 'scopes'])
      .where('workspace_id', '=', this.workspaceId).where('end_user_id', '=', endUserId).where('provider', '=', provider)
    if (forUpdate) query = query.forUpdate()
    const row = await query.executeTakeFirst()
    if (!row) return undefined
    const open = (data: Buffer, field: 'access_token' | 'refresh_token') =>
      this.keyRing.openText({ keyId: row.key_id, data }, tokenAad(this.workspaceId, endUserId, provider, field))
    const grant: Grant = {
      accessToken: open(row.access_token, 'access_token'),
      tokenType: row.token_type,
      scopes: row.scopes
    }
    if (row.refresh_token) grant.refreshToken = open(row.refresh_token, 'refresh_token')
    if (row.expires_at) grant.expiresAt = row.expires_at
    return grant
  }

  /**
   * Stores a new grant (consent) or a refreshed one. A refresh without a new refresh token keeps
   * the old one; without scopes keeps the granted ones (RFC 6749 §6).
   */
  async store (endUserId: string, provider: string, tokens: TokenSet, options: { requestedScopes: string[], previous?: Grant, executor?: Executor }): Promise<void> {
    const executor = options.executor ?? this.db
    const seal = (value: string, field: 'access_token' | 'refresh_token') => this.keyRing.seal(value, tokenAad(this.workspaceId, endUserId, provider, field))
    const access = seal(tokens.accessToken, 'access_token')
    const refreshToken = tokens.refreshToken ?? options.previous?.refreshToken
    const refresh = refreshToken === undefined ? undefined : seal(refreshToken, 'refresh_token')
    const scopes = tokens.scopes ?? options.previous?.scopes ?? options.requestedScopes
    const now = new Date()
    const values = {
      access_token: access.data,
      refresh_token: refresh?.data ?? null,
      key_id: access.keyId,
      token_type: tokens.tokenType,
      expires_at: tokens.expiresAt ?? null,
      scopes
    }
    if (options.previous) {
      await executor.updateTable('oauth_tokens').set({ ...values, refreshed_at: now })
        .where('workspace_id', '=', this.workspaceId).where('end_user_id', '=', endUserId).where('provider', '=', provider).execute()
      return
    }
    await executor.insertInto('oauth_tokens')
      .values({ workspace_id: this.workspaceId, end_user_id: endUserId, provider, ...values, granted_at: now, refreshed_at: null })
      .onConflict(oc => oc.columns(['workspace_id', 'end_user_id', 'provider']).doUpdateSet({ ...values, granted_at: now, refreshed_at: null }))
      .execute()
  }

  async delete (endUserId: string, provider: string, executor: Executor = this.db): Promise<boolean> {
    const result = await executor.deleteFrom('oauth_tokens')
      .where('workspace_id', '=', this.workspaceId).where('end_user_id', '=', endUserId).where('provider', '=', provider).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  /** Connections of one end user, or of every end user; metadata only. */
  async list (endUserId?: string): Promise<ConnectionInfo[]> {
    let query = this.db.selectFrom('oauth_tokens').innerJoin('end_users', 'end_users.id', 'oauth_tokens.end_user_id')
      .select(['oauth_tokens.end_user_id', 'end_users.external_id', 'oauth_tokens.provider', 'oauth_tokens.scopes', 'oauth_tokens.expires_at',
        'oauth_tokens.refresh_token', 'oauth_tokens.granted_at', 'oauth_tokens.refreshed_at'])
      .where('oauth_tokens.workspace_id', '=', this.workspaceId)
    if (endUserId !== undefined) query = query.where('oauth_tokens.end_user_id', '=', endUserId)
    const rows = await query.orderBy('end_users.external_id').orderBy('oauth_tokens.provider').execute()
    return rows.map(row => ({
      endUserId: row.end_user_id,
      endUser: row.external_id,
      provider: row.provider,
      scopes: row.scopes,
      expiresAt: row.expires_at?.toISOString() ?? null,
      hasRefreshToken: row.refresh_token !== null,
      grantedAt: new Date(row.granted_at).toISOString(),
      refreshedAt: row.refreshed_at?.toISOString() ?? null
    }))
  }
}
