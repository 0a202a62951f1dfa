// Opaque, tamper-proof values that travel through clients and browsers: the consent link's request
// (who asks, for which provider, scopes and server) and the 2026-07-28 `requestState`. Sealed with
// AES-256-GCM under a key derived from the key ring, so they are unreadable and unforgeable, and
// carry their own expiry. Nothing is stored until the user actually starts the consent.
import { randomUUID } from 'node:crypto'
import { KeyRing, KeyRingError } from '../crypto/keyring.ts'

export const CONSENT_TTL_MS = 10 * 60 * 1000

export interface ConsentRequest {
  workspaceId: string
  endUserId: string
  provider: string
  server: string
  scopes: string[]
  /** Names the elicitation (2025-11-25) and is echoed in notifications/elicitation/complete. */
  elicitationId: string
  /** The legacy MCP session to notify when consent completes (its random id). */
  sessionId?: string
  expiresAt: number
}

export interface RequestState {
  elicitationId: string
  server: string
  tool: string
  endUserId: string
  expiresAt: number
}

export class ConsentLinks {
  private readonly sealer: KeyRing
  private readonly publicUrl: string

  constructor (key: Buffer, publicUrl: string) {
    this.sealer = new KeyRing([['c', key]])
    this.publicUrl = publicUrl
  }

  /** Where the end user goes: the consent page at /oauth/consent. */
  create (request: Omit<ConsentRequest, 'elicitationId' | 'expiresAt'>, now = Date.now()): { url: string, request: ConsentRequest } {
    const full: ConsentRequest = { ...request, elicitationId: randomUUID(), expiresAt: now + CONSENT_TTL_MS }
    return { url: `${this.publicUrl}/oauth/consent?request=${this.seal('consent', full)}`, request: full }
  }

  /** The request a link carries; undefined when it was altered, is not ours, or has expired. */
  open (token: string, now = Date.now()): ConsentRequest | 'expired' | undefined {
    const request = this.unseal<ConsentRequest>('consent', token)
    if (!request) return undefined
    return request.expiresAt <= now ? 'expired' : request
  }

  sealState (state: RequestState): string {
    return this.seal('request-state', state)
  }

  openState (token: string, now = Date.now()): RequestState | undefined {
    const state = this.unseal<RequestState>('request-state', token)
    return state && state.expiresAt > now ? state : undefined
  }

  private seal (purpose: string, value: unknown): string {
    return this.sealer.seal(JSON.stringify(value), purpose).data.toString('base64url')
  }

  private unseal<T> (purpose: string, token: string): T | undefined {
    if (token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined
    try {
      return JSON.parse(this.sealer.openText({ keyId: 'c', data: Buffer.from(token, 'base64url') }, purpose)) as T
    } catch (err) {
      if (err instanceof KeyRingError || err instanceof SyntaxError) return undefined
      throw err
    }
  }
}
