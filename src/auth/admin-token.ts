// The operator's admin token for /api/v1: TOOLGATE_ADMIN_TOKEN, or one generated at first start,
// printed once, and stored only as a hash.
import type { Db } from '../db/index.ts'
import { hashToken, mintToken, sameHash } from './tokens.ts'

export const ADMIN_TOKEN_PREFIX = 'tga_'

export interface AdminTokenCheck {
  verify (token: string): Promise<boolean>
}

/** Creates the first admin token when none exists and none is configured; returns it (to print once). */
export async function ensureAdminToken (db: Db, workspaceId: string, configured: string | undefined): Promise<string | undefined> {
  if (configured) return undefined
  const existing = await db.selectFrom('admin_tokens').select('id').where('workspace_id', '=', workspaceId).executeTakeFirst()
  if (existing) return undefined
  const token = mintToken(ADMIN_TOKEN_PREFIX)
  await db.insertInto('admin_tokens').values({ workspace_id: workspaceId, token_hash: hashToken(token) }).execute()
  return token
}

/** Replaces every stored admin token with a new one (the `toolgate admin-token reset` command). */
export async function resetAdminToken (db: Db, workspaceId: string): Promise<string> {
  const token = mintToken(ADMIN_TOKEN_PREFIX)
  await db.transaction().execute(async trx => {
    await trx.deleteFrom('admin_tokens').where('workspace_id', '=', workspaceId).execute()
    await trx.insertInto('admin_tokens').values({ workspace_id: workspaceId, token_hash: hashToken(token) }).execute()
  })
  return token
}

/**
 * Checks admin tokens against TOOLGATE_ADMIN_TOKEN and the stored hashes. The stored set is
 * re-read when older than `refreshMs`, so `toolgate admin-token reset` (run from another process)
 * takes effect on a running gateway within that time, for the new token and against the old one.
 */
export class AdminTokens implements AdminTokenCheck {
  private hashes: string[] = []
  private loadedAt = 0
  private readonly db: Db
  private readonly workspaceId: string
  private readonly configuredHash: string | undefined
  private readonly refreshMs: number
  private readonly now: () => number

  constructor (db: Db, workspaceId: string, configured: string | undefined, options: { refreshMs?: number, now?: () => number } = {}) {
    this.db = db
    this.workspaceId = workspaceId
    this.configuredHash = configured ? hashToken(configured) : undefined
    this.refreshMs = options.refreshMs ?? 2000
    this.now = options.now ?? Date.now
  }

  async load (): Promise<void> {
    const rows = await this.db.selectFrom('admin_tokens').select('token_hash').where('workspace_id', '=', this.workspaceId).execute()
    this.hashes = rows.map(r => r.token_hash)
    this.loadedAt = this.now()
  }

  async verify (token: string): Promise<boolean> {
    const hash = hashToken(token)
    if (this.configuredHash && sameHash(hash, this.configuredHash)) return true
    if (this.now() - this.loadedAt > this.refreshMs) await this.load()
    return this.hashes.some(h => sameHash(hash, h))
  }
}
