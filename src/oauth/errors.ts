// Why a call that needs an end user's upstream token cannot go on. The MCP layer turns these into
// what the client's protocol era understands (mcp/consent.ts); the messages are safe to show.
import type { CompiledOAuthProvider } from '../tools/compiled.ts'

export type ConsentReason = 'no_token' | 'expired' | 'missing_scope' | 'rejected'

const REASON_TEXT: Record<ConsentReason, string> = {
  no_token: 'is not connected yet',
  expired: 'needs to be connected again (the authorization expired)',
  missing_scope: 'needs more permissions than were granted',
  rejected: 'needs to be connected again (the provider no longer accepts the authorization)'
}

/** The end user must (re)authorize the provider: consent, in band. */
export class ConsentRequired extends Error {
  readonly reason: ConsentReason
  readonly provider: CompiledOAuthProvider
  /** What consent will ask for: the provider's scopes and the tool's. */
  readonly scopes: string[]

  constructor (reason: ConsentReason, provider: CompiledOAuthProvider, scopes: string[]) {
    super(`Your ${provider.name} account ${REASON_TEXT[reason]}`)
    this.name = 'ConsentRequired'
    this.reason = reason
    this.provider = provider
    this.scopes = scopes
  }
}

/** The token could not be refreshed for a reason that keeps it (provider down, rate limited, misconfigured). */
export class TokenUnavailable extends Error {
  readonly retryable: boolean

  constructor (provider: string, detail: string, retryable: boolean) {
    super(`Could not refresh your ${provider} authorization: ${detail}.${retryable ? ' Your connection is kept; try again shortly.' : ''}`)
    this.name = 'TokenUnavailable'
    this.retryable = retryable
  }
}
