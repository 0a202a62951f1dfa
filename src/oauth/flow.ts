// The consent flow between the consent link and the callback:
//   /oauth/consent?request=…  names the provider and scopes (nothing stored yet);
//   /oauth/start?request=…    stores a single-use state (hash only, PKCE verifier sealed, 10 min),
//                             binds it to this browser with a cookie, redirects to the provider;
//   /oauth/callback?code&state exchanges the code, seals the tokens, says the elicitation is done.
// Every failure is an error page and changes no token. The state is consumed by the first
// callback that names it, whatever happens next, so it cannot be replayed.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { hashToken } from '../auth/tokens.ts'
import * as oidc from 'openid-client'
import type { Logger } from 'pino'
import type { KeyRing } from '../crypto/keyring.ts'
import type { Db } from '../db/index.ts'
import { recordAudit } from '../telemetry/audit.ts'
import type { CompiledOAuthProvider } from '../tools/compiled.ts'
import { TokenEndpointError, type OAuthClients } from './client.ts'
import { CONSENT_TTL_MS, type ConsentLinks, type ConsentRequest } from './consent-link.ts'
import type { TokenVault } from './vault.ts'

export const CALLBACK_PATH = '/oauth/callback'

/** What a flow step answers: a page (status + HTML inputs) or a redirect with a cookie. */
export type FlowError = { error: { status: number, title: string, message: string } }

export interface ConsentCompleted {
  workspaceId: string
  endUserId: string
  provider: string
  elicitationId: string
  sessionId?: string
}

export interface ConsentFlowOptions {
  db: Db
  keyRing: KeyRing
  workspaceId: string
  publicUrl: string
  links: ConsentLinks
  clients: OAuthClients
  vault: TokenVault
  /** The current config's OAuth providers. */
  providers: () => ReadonlyMap<string, CompiledOAuthProvider>
  /** Key for the browser-binding cookie. */
  cookieKey: Buffer
  /** Tells every replica (pg NOTIFY) that consent completed. */
  onCompleted: (completed: ConsentCompleted) => Promise<void>
  logger: Logger
  now?: () => number
}

export function stateAad (stateHash: string): string {
  return `oauth_states/${stateHash}/code_verifier`
}

export function cookieName (stateHash: string): string {
  return `tg_oauth_${stateHash.slice(0, 16)}`
}

/** One cookie's value from a Cookie header (names are ours: no quoting or encoding to handle). */
export function cookieValue (header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

const fail = (status: number, title: string, message: string): FlowError => ({ error: { status, title, message } })

export class ConsentFlow {
  private readonly options: ConsentFlowOptions
  private readonly now: () => number

  constructor (options: ConsentFlowOptions) {
    this.options = options
    this.now = options.now ?? Date.now
  }

  get redirectUri (): string {
    return `${this.options.publicUrl}${CALLBACK_PATH}`
  }

  /** The consent request a link carries, with its provider, for the consent page. */
  async describe (token: string | undefined): Promise<{ request: ConsentRequest, provider: CompiledOAuthProvider, endUser: string } | FlowError> {
    const request = token === undefined ? undefined : this.options.links.open(token, this.now())
    if (request === 'expired') return fail(410, 'This link has expired', 'Authorization links are valid for 10 minutes.')
    if (!request || request.workspaceId !== this.options.workspaceId) return fail(400, 'This link is not valid', 'The authorization link is incomplete or was altered.')
    const provider = this.options.providers().get(request.provider)
    if (!provider) return fail(404, 'Provider not available', `The provider "${request.provider}" is no longer configured on this gateway.`)
    const user = await this.options.db.selectFrom('end_users').select('external_id')
      .where('id', '=', request.endUserId).where('workspace_id', '=', this.options.workspaceId).executeTakeFirst()
    if (!user) return fail(404, 'Unknown user', 'The user this link was made for no longer exists.')
    return { request, provider, endUser: user.external_id }
  }

  /** Stores the state and gives the provider's authorization URL and the browser-binding cookie. */
  async start (token: string | undefined): Promise<{ location: string, cookie: { name: string, value: string, maxAgeSeconds: number } } | FlowError> {
    const described = await this.describe(token)
    if ('error' in described) return described
    const { request, provider } = described
    const state = oidc.randomState()
    const stateHash = hashToken(state)
    const codeVerifier = provider.pkce ? oidc.randomPKCECodeVerifier() : undefined
    const nonce = request.scopes.includes('openid') ? oidc.randomNonce() : undefined
    const sealed = codeVerifier ? this.options.keyRing.seal(codeVerifier, stateAad(stateHash)) : undefined
    let location: URL
    try {
      location = await this.options.clients.authorizationUrl(provider, {
        redirect_uri: this.redirectUri,
        state,
        ...(request.scopes.length > 0 ? { scope: request.scopes.join(' ') } : {}),
        ...(codeVerifier ? { code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256' } : {}),
        ...(nonce ? { nonce } : {})
      })
    } catch (err) {
      this.options.logger.warn({ provider: provider.name, err: { type: (err as Error).name, code: (err as { code?: string }).code } }, 'authorization URL could not be built')
      return fail(502, 'The provider is not reachable', `Toolgate could not read ${provider.name}'s OAuth configuration. Try again in a moment.`)
    }
    await this.options.db.insertInto('oauth_states').values({
      state_hash: stateHash,
      workspace_id: this.options.workspaceId,
      end_user_id: request.endUserId,
      provider: provider.name,
      server: request.server,
      scopes: request.scopes,
      code_verifier: sealed?.data ?? null,
      key_id: sealed?.keyId ?? null,
      nonce: nonce ?? null,
      elicitation_id: request.elicitationId,
      session_id: request.sessionId ?? null,
      expires_at: new Date(this.now() + CONSENT_TTL_MS)
    }).execute()
    return { location: location.href, cookie: { name: cookieName(stateHash), value: this.binding(state), maxAgeSeconds: CONSENT_TTL_MS / 1000 } }
  }

  /** The provider sent the user back: `url` is the full callback URL, `cookies` the Cookie header. */
  async callback (url: URL, cookies: string | undefined): Promise<{ provider: string } | FlowError> {
    const state = url.searchParams.get('state')
    if (!state) return fail(400, 'Missing state', 'The provider sent the browser back without the state Toolgate gave it.')
    const stateHash = hashToken(state)
    const row = await this.options.db.selectFrom('oauth_states').selectAll()
      .where('state_hash', '=', stateHash).where('workspace_id', '=', this.options.workspaceId).executeTakeFirst()
    if (!row) return fail(400, 'Unknown authorization', 'This authorization was not started here, or was purged.')
    if (row.used_at) return fail(400, 'Authorization already used', 'Each authorization can complete once; this one already did.')
    if (row.expires_at.getTime() <= this.now()) return fail(410, 'Authorization expired', 'More than 10 minutes passed between starting and finishing.')
    const presented = cookieValue(cookies, cookieName(stateHash))
    const expected = this.binding(state)
    if (!presented || presented.length !== expected.length || !timingSafeEqual(Buffer.from(presented), Buffer.from(expected))) {
      return fail(403, 'Authorization belongs to someone else', 'This authorization was started in another browser or for another user.')
    }
    // Consumed now, whatever happens next: a replayed state finds it used.
    const claimed = await this.options.db.updateTable('oauth_states').set({ used_at: new Date(this.now()) })
      .where('state_hash', '=', stateHash).where('used_at', 'is', null).executeTakeFirst()
    if (Number(claimed.numUpdatedRows) !== 1) return fail(400, 'Authorization already used', 'Each authorization can complete once; this one already did.')

    const error = url.searchParams.get('error')
    if (error) {
      if (error === 'access_denied') return fail(403, 'Authorization declined', `You declined access to ${row.provider}.`)
      return fail(502, 'The provider refused', `${row.provider} answered with the error "${error}".`)
    }
    const provider = this.options.providers().get(row.provider)
    if (!provider) return fail(404, 'Provider not available', `The provider "${row.provider}" is no longer configured on this gateway.`)
    const codeVerifier = row.code_verifier ? this.options.keyRing.openText({ keyId: row.key_id!, data: row.code_verifier }, stateAad(stateHash)) : undefined
    let tokens
    try {
      // openid-client compares the callback URL's origin and path with the redirect URI it was given.
      const callbackUrl = new URL(this.redirectUri)
      callbackUrl.search = url.search
      tokens = await this.options.clients.exchangeCode(provider, callbackUrl, {
        state, ...(codeVerifier ? { codeVerifier } : {}), ...(row.nonce ? { nonce: row.nonce } : {})
      })
    } catch (err) {
      const failure = err instanceof TokenEndpointError ? err : undefined
      this.options.logger.warn({ provider: provider.name, kind: failure?.kind, status: failure?.status, oauthError: failure?.oauthError, err: failure ? undefined : { type: (err as Error).name, code: (err as { code?: string }).code } }, 'authorization code exchange failed')
      return fail(502, 'The provider refused', `${provider.name} did not give a token: ${failure?.message ?? 'its answer could not be used'}.`)
    }
    await this.options.db.transaction().execute(async trx => {
      await this.options.vault.store(row.end_user_id, provider.name, tokens, { requestedScopes: row.scopes, executor: trx })
      const user = await trx.selectFrom('end_users').select('external_id').where('id', '=', row.end_user_id).executeTakeFirstOrThrow()
      await recordAudit(trx, {
        workspaceId: this.options.workspaceId,
        actor: `end_user:${user.external_id}`,
        action: 'oauth.grant',
        target: `provider:${provider.name}`,
        details: { scopes: tokens.scopes ?? row.scopes, refreshToken: tokens.refreshToken !== undefined, expires: tokens.expiresAt !== undefined }
      })
    })
    await this.options.onCompleted({
      workspaceId: this.options.workspaceId, endUserId: row.end_user_id, provider: provider.name, elicitationId: row.elicitation_id,
      ...(row.session_id ? { sessionId: row.session_id } : {})
    }).catch(err => this.options.logger.warn({ err: { message: (err as Error).message } }, 'consent completion notice failed'))
    return { provider: provider.name }
  }

  /** Removes states that expired a day ago (kept that long so a late replay still says "used"/"expired"). */
  async purge (): Promise<number> {
    const result = await this.options.db.deleteFrom('oauth_states')
      .where('expires_at', '<', new Date(this.now() - 24 * 60 * 60 * 1000)).executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  private binding (state: string): string {
    return createHmac('sha256', this.options.cookieKey).update(state).digest('base64url')
  }
}
