// The upstream-OAuth parts a gateway process holds, built once from its dependencies.
import { EventEmitter } from 'node:events'
import { sql } from 'kysely'
import type { Logger } from 'pino'
import type { KeyRing } from '../crypto/keyring.ts'
import type { Db } from '../db/index.ts'
import type { CompiledOAuthProvider } from '../tools/compiled.ts'
import { OAuthClients } from './client.ts'
import { ConsentLinks } from './consent-link.ts'
import { ConsentFlow, type ConsentCompleted } from './flow.ts'
import { UpstreamTokens } from './tokens.ts'
import { TokenVault } from './vault.ts'

/** pg NOTIFY channel: consent completed (for the replica holding the client's session stream). */
export const OAUTH_CHANNEL = 'toolgate_oauth'

export interface OAuthServices {
  vault: TokenVault
  clients: OAuthClients
  tokens: UpstreamTokens
  links: ConsentLinks
  flow: ConsentFlow
  /** Emits 'completed' (ConsentCompleted) on every replica when a consent finishes anywhere. */
  completions: EventEmitter
  /** Feed for OAUTH_CHANNEL notifications. */
  onNotify (payload: string): void
  providers: () => ReadonlyMap<string, CompiledOAuthProvider>
}

export function createOAuthServices (deps: {
  db: Db, keyRing: KeyRing, workspaceId: string, publicUrl: string, logger: Logger,
  providers: () => ReadonlyMap<string, CompiledOAuthProvider>
  onRefresh?: (provider: string, failure?: { kind: string, detail: string }) => void
}): OAuthServices {
  const vault = new TokenVault(deps.db, deps.keyRing, deps.workspaceId)
  const clients = new OAuthClients()
  const links = new ConsentLinks(deps.keyRing.deriveKey('oauth-consent'), deps.publicUrl)
  const completions = new EventEmitter()
  completions.setMaxListeners(0) // one listener per open session stream
  const flow = new ConsentFlow({
    db: deps.db, keyRing: deps.keyRing, workspaceId: deps.workspaceId, publicUrl: deps.publicUrl, links, clients, vault,
    providers: deps.providers, cookieKey: deps.keyRing.deriveKey('oauth-browser-binding'), logger: deps.logger,
    onCompleted: async (completed: ConsentCompleted) => {
      await sql`select pg_notify(${OAUTH_CHANNEL}, ${JSON.stringify(completed)})`.execute(deps.db)
    }
  })
  return {
    vault,
    clients,
    tokens: new UpstreamTokens({ vault, clients, workspaceId: deps.workspaceId, logger: deps.logger, ...(deps.onRefresh ? { onRefresh: deps.onRefresh } : {}) }),
    links,
    flow,
    completions,
    providers: deps.providers,
    onNotify (payload: string) {
      try {
        const completed = JSON.parse(payload) as ConsentCompleted
        if (completed.workspaceId === deps.workspaceId) completions.emit('completed', completed)
      } catch {
        // not ours
      }
    }
  }
}
