// The end user's token for a call: read from the vault, refreshed ahead of expiry or after an
// upstream 401, or a ConsentRequired when only the user can fix it.
// Refresh is single-flight per end user × provider in a process, and serialised across replicas
// by a row lock (SELECT … FOR UPDATE): whoever gets the lock second finds the token already
// changed and uses it. A rotated refresh token is stored in the same transaction. Tokens are
// deleted only when the provider says the grant is gone (invalid_grant); a 5xx, 429 or network
// error keeps them and the call gets a retryable error.
import type { Logger } from 'pino'
import { recordAudit } from '../telemetry/audit.ts'
import type { CompiledOAuthProvider } from '../tools/compiled.ts'
import { TokenEndpointError, type OAuthClients, type TokenSet } from './client.ts'
import { ConsentRequired, TokenUnavailable } from './errors.ts'
import type { Grant, TokenVault } from './vault.ts'

export interface UpstreamTokensOptions {
  vault: TokenVault
  clients: OAuthClients
  workspaceId: string
  logger: Logger
  now?: () => number
  /** Told of every refresh's outcome (operator notices): the failure's kind and detail, or none. */
  onRefresh?: (provider: string, failure?: { kind: string, detail: string }) => void
}

/** The scopes consent asks for: the provider's and the tool's. */
export function consentScopes (provider: CompiledOAuthProvider, toolScopes: readonly string[]): string[] {
  return [...new Set([...provider.scopes, ...toolScopes])]
}

type RefreshOutcome = { grant: Grant } | { consent: ConsentRequired } | { unavailable: TokenUnavailable }

export class UpstreamTokens {
  private readonly vault: TokenVault
  private readonly clients: OAuthClients
  private readonly workspaceId: string
  private readonly logger: Logger
  private readonly now: () => number
  private readonly onRefresh: UpstreamTokensOptions['onRefresh']
  private readonly refreshing = new Map<string, Promise<Grant>>()

  constructor (options: UpstreamTokensOptions) {
    this.vault = options.vault
    this.clients = options.clients
    this.workspaceId = options.workspaceId
    this.logger = options.logger
    this.now = options.now ?? Date.now
    this.onRefresh = options.onRefresh
  }

  /** A usable grant for this end user and tool, refreshed first when it is (nearly) expired. */
  async forCall (endUserId: string, provider: CompiledOAuthProvider, toolScopes: readonly string[]): Promise<Grant> {
    const grant = await this.vault.read(endUserId, provider.name)
    if (!grant) throw new ConsentRequired('no_token', provider, consentScopes(provider, toolScopes))
    if (!toolScopes.every(scope => grant.scopes.includes(scope))) {
      throw new ConsentRequired('missing_scope', provider, consentScopes(provider, [...grant.scopes, ...toolScopes]))
    }
    if (grant.expiresAt === undefined || grant.expiresAt.getTime() - provider.refreshSkewMs > this.now()) return grant
    if (!grant.refreshToken) throw new ConsentRequired('expired', provider, consentScopes(provider, toolScopes))
    return await this.refresh(endUserId, provider, grant, toolScopes)
  }

  /** The upstream refused `rejected` (401): refresh once; without a refresh token, consent. */
  async afterRejection (endUserId: string, provider: CompiledOAuthProvider, rejected: Grant, toolScopes: readonly string[]): Promise<Grant> {
    if (!rejected.refreshToken) throw new ConsentRequired('rejected', provider, consentScopes(provider, toolScopes))
    return await this.refresh(endUserId, provider, rejected, toolScopes)
  }

  private async refresh (endUserId: string, provider: CompiledOAuthProvider, stale: Grant, toolScopes: readonly string[]): Promise<Grant> {
    const key = `${endUserId}\u0000${provider.name}\u0000${stale.accessToken}`
    let pending = this.refreshing.get(key)
    if (!pending) {
      pending = this.refreshLocked(endUserId, provider, stale, toolScopes).finally(() => this.refreshing.delete(key))
      this.refreshing.set(key, pending)
    }
    return await pending
  }

  private async refreshLocked (endUserId: string, provider: CompiledOAuthProvider, stale: Grant, toolScopes: readonly string[]): Promise<Grant> {
    const scopes = consentScopes(provider, toolScopes)
    const outcome = await this.vault.database.transaction().execute(async (trx): Promise<RefreshOutcome> => {
      const current = await this.vault.read(endUserId, provider.name, trx, true)
      if (!current) return { consent: new ConsentRequired('no_token', provider, scopes) }
      // Another replica (or a new consent) changed the token while we waited for the lock.
      if (current.accessToken !== stale.accessToken) return { grant: current }
      if (!current.refreshToken) return { consent: new ConsentRequired('expired', provider, scopes) }
      let tokens: TokenSet
      try {
        tokens = await this.clients.refresh(provider, current.refreshToken)
      } catch (err) {
        const failure = err instanceof TokenEndpointError ? err : new TokenEndpointError('temporary', 'the provider could not be reached')
        const deleted = failure.kind === 'invalid_grant' && await this.vault.delete(endUserId, provider.name, trx)
        await recordAudit(trx, {
          workspaceId: this.workspaceId,
          actor: 'toolgate',
          action: 'oauth.refresh_failed',
          target: `provider:${provider.name} end_user:${endUserId}`,
          details: { kind: failure.kind, ...(failure.status ? { status: failure.status } : {}), ...(failure.oauthError ? { error: failure.oauthError } : {}), tokensDeleted: deleted }
        })
        this.logger.warn({ provider: provider.name, kind: failure.kind, status: failure.status, oauthError: failure.oauthError, tokensDeleted: deleted }, 'token refresh failed')
        this.onRefresh?.(provider.name, { kind: failure.kind, detail: failure.message })
        if (failure.kind === 'invalid_grant') return { consent: new ConsentRequired('expired', provider, scopes) }
        return { unavailable: new TokenUnavailable(provider.name, failure.message, failure.kind === 'temporary') }
      }
      await this.vault.store(endUserId, provider.name, tokens, { requestedScopes: scopes, previous: current, executor: trx })
      this.onRefresh?.(provider.name)
      const refreshed: Grant = {
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        scopes: tokens.scopes ?? current.scopes
      }
      const refreshToken = tokens.refreshToken ?? current.refreshToken
      if (refreshToken) refreshed.refreshToken = refreshToken
      if (tokens.expiresAt) refreshed.expiresAt = tokens.expiresAt
      return { grant: refreshed }
    })
    if ('consent' in outcome) throw outcome.consent
    if ('unavailable' in outcome) throw outcome.unavailable
    return outcome.grant
  }
}
