// Scoped tokens for one server's live debug stream (POST /api/v1/servers/:server/debug-token).
// Stateless, like MCP session ids (src/mcp/session.ts): `tgd_` + base64url(JSON [version,
// workspace, server, expiry, random id]) + "." + base64url(HMAC-SHA256), keyed with
// keyRing.deriveKey('debug-token'). Any replica with the same key ring verifies one without shared
// state. There is no revocation list: a token is short-lived (at most an hour) by design, and a
// new first key in the ring ends all of them.
import { randomBytes } from 'node:crypto'
import { FieldSigner } from '../crypto/signed-fields.ts'

export const DEBUG_TOKEN_PREFIX = 'tgd_'
export const DEBUG_TOKEN_DEFAULT_TTL_S = 15 * 60
export const DEBUG_TOKEN_MAX_TTL_S = 60 * 60
const VERSION = 1

export interface DebugTokenClaims {
  id: string
  workspaceId: string
  server: string
  /** ms since the epoch. */
  expiresAt: number
}

export type DebugTokenCheck =
  | { ok: true, claims: DebugTokenClaims }
  | { ok: false, reason: 'invalid' | 'expired' | 'other_server' }

export class DebugTokenSigner {
  private readonly signer: FieldSigner
  private readonly now: () => number

  constructor (key: Buffer, options: { now?: () => number } = {}) {
    this.signer = new FieldSigner(key)
    this.now = options.now ?? Date.now
  }

  issue (workspaceId: string, server: string, ttlSeconds = DEBUG_TOKEN_DEFAULT_TTL_S): { token: string, claims: DebugTokenClaims } {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > DEBUG_TOKEN_MAX_TTL_S) throw new RangeError(`ttlSeconds must be an integer from 1 to ${DEBUG_TOKEN_MAX_TTL_S}`)
    const claims: DebugTokenClaims = { id: randomBytes(12).toString('base64url'), workspaceId, server, expiresAt: this.now() + ttlSeconds * 1000 }
    return { token: DEBUG_TOKEN_PREFIX + this.signer.sign([VERSION, claims.workspaceId, claims.server, claims.expiresAt, claims.id]), claims }
  }

  /** Whether `token` opens the debug stream of `server` in `workspaceId` now. */
  verify (token: string, workspaceId: string, server: string): DebugTokenCheck {
    const claims = this.check(token)
    if (!claims || claims.workspaceId !== workspaceId) return { ok: false, reason: 'invalid' }
    if (claims.expiresAt <= this.now()) return { ok: false, reason: 'expired' }
    if (claims.server !== server) return { ok: false, reason: 'other_server' }
    return { ok: true, claims }
  }

  private check (token: string): DebugTokenClaims | undefined {
    if (!token.startsWith(DEBUG_TOKEN_PREFIX) || token.length > 1024) return undefined
    const fields = this.signer.open(token.slice(DEBUG_TOKEN_PREFIX.length))
    if (!fields) return undefined
    const [version, workspaceId, server, expiresAt, id] = fields
    if (version !== VERSION || typeof workspaceId !== 'string' || typeof server !== 'string' || typeof expiresAt !== 'number' || typeof id !== 'string') return undefined
    return { id, workspaceId, server, expiresAt }
  }
}
