// MCP-Session-Id values that any replica can check without shared memory: a random id, the
// principal and server it is bound to and the negotiated version, signed with an HMAC key every
// replica derives from the key ring.
import { randomBytes } from 'node:crypto'
import { FieldSigner } from '../crypto/signed-fields.ts'
import { isLegacyVersion, type LegacyVersion } from './versions.ts'

export interface SessionClaims {
  /** Random session id. */
  id: string
  /** API key (principal) the session belongs to. */
  principal: string
  server: string
  version: LegacyVersion
  issuedAt: number
  /** The client declared URL-mode elicitation at initialize (consent goes as -32042). */
  urlElicitation: boolean
}

/** Verified ids remembered, so a session's every request does not pay an HMAC (bounded; cleared when full). */
const VERIFIED_CACHE_MAX = 10_000

export class SessionSigner {
  private readonly signer: FieldSigner
  // The same id string always carries the same signature, so a hit is as good as a check. Expiry,
  // principal, server and DELETE are checked by the caller on every request, cached or not.
  private readonly verified = new Map<string, SessionClaims>()

  constructor (key: Buffer) {
    this.signer = new FieldSigner(key)
  }

  issue (principal: string, server: string, version: LegacyVersion, now = Date.now(), urlElicitation = false): string {
    const claims: SessionClaims = { id: randomBytes(16).toString('base64url'), principal, server, version, issuedAt: now, urlElicitation }
    return this.signer.sign([claims.id, claims.principal, claims.server, claims.version, claims.issuedAt, claims.urlElicitation ? 1 : 0])
  }

  /** The claims of a well-formed, correctly signed id; undefined otherwise. */
  verify (sessionId: string): SessionClaims | undefined {
    const known = this.verified.get(sessionId)
    if (known) return known
    const claims = this.check(sessionId)
    if (claims) {
      if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.clear()
      this.verified.set(sessionId, claims)
    }
    return claims
  }

  private check (sessionId: string): SessionClaims | undefined {
    if (sessionId.length > 512) return undefined
    const fields = this.signer.open(sessionId)
    if (!fields) return undefined
    const [id, principal, server, version, issuedAt, flags = 0] = fields
    if (typeof id !== 'string' || typeof principal !== 'string' || typeof server !== 'string' || !isLegacyVersion(version) || typeof issuedAt !== 'number') return undefined
    return Object.freeze({ id, principal, server, version, issuedAt, urlElicitation: flags === 1 })
  }
}
