// An end user's connections (grants) to providers: list and revoke. Revoking deletes the row first
// (the user's intent wins even if the provider is down), then asks the provider to revoke the
// token where it has a revocation endpoint.
import type { Logger } from 'pino'
import { recordAudit } from '../telemetry/audit.ts'
import type { CompiledOAuthProvider } from '../tools/compiled.ts'
import type { OAuthClients } from './client.ts'
import type { TokenVault } from './vault.ts'

export interface RevokeOutcome {
  /** A connection existed and was deleted. */
  revoked: boolean
  /** The provider confirmed the revocation (false: it has no endpoint, it failed, or it is no longer configured). */
  providerRevoked: boolean
}

export async function revokeConnection (
  deps: { vault: TokenVault, clients: OAuthClients, workspaceId: string, logger: Logger, providers: () => ReadonlyMap<string, CompiledOAuthProvider> },
  endUserId: string, provider: string, actor: string
): Promise<RevokeOutcome> {
  const grant = await deps.vault.database.transaction().execute(async trx => {
    const current = await deps.vault.read(endUserId, provider, trx, true).catch(() => undefined) // unreadable (key gone): still deletable
    if (!await deps.vault.delete(endUserId, provider, trx)) return null
    await recordAudit(trx, { workspaceId: deps.workspaceId, actor, action: 'oauth.revoke', target: `provider:${provider} end_user:${endUserId}` })
    return current ?? undefined
  })
  if (grant === null) return { revoked: false, providerRevoked: false }
  const compiled = deps.providers().get(provider)
  if (!grant || !compiled) return { revoked: true, providerRevoked: false }
  try {
    // Revoking the refresh token ends the access tokens made from it too (RFC 7009 §2.1).
    const providerRevoked = grant.refreshToken
      ? await deps.clients.revoke(compiled, grant.refreshToken, 'refresh_token')
      : await deps.clients.revoke(compiled, grant.accessToken, 'access_token')
    return { revoked: true, providerRevoked }
  } catch (err) {
    deps.logger.warn({ provider, err: { type: (err as Error).name, message: (err as Error).message } }, 'provider revocation failed; the connection is deleted here')
    return { revoked: true, providerRevoked: false }
  }
}
