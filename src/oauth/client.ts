// The OAuth client side of one provider, through openid-client 6: the authorization URL, the code
// exchange, refresh and revocation. Configurations (discovery included) are built once per
// provider settings and cached; a failed discovery is not cached, so the next call tries again.
// Real providers' quirks are smoothed here, so the rest of Toolgate sees standard OAuth:
// - GitHub answers token errors with HTTP 200 and an `error` field: turned into the 400 it means.
// - `token_type` may be lowercase `bearer` (openid-client lower-cases it anyway).
// - `expires_in` may be missing (a non-expiring token): expiry stays unknown.
// - scopes may come back comma-separated: split on commas and spaces.
import * as oidc from 'openid-client'
import type { CompiledOAuthProvider } from '../tools/compiled.ts'

/** How long one request to a provider may take. */
const PROVIDER_TIMEOUT_SECONDS = 10

export interface TokenSet {
  accessToken: string
  refreshToken?: string
  tokenType: string
  /** Absent: the provider did not say (the token is treated as not expiring). */
  expiresAt?: Date
  /** Absent: the provider did not say (RFC 6749 §5.1: then the scopes asked for were granted). */
  scopes?: string[]
}

/**
 * A failed exchange with the token endpoint, classified by what Toolgate must do:
 * `invalid_grant` — the grant is gone (delete the tokens, ask for consent again);
 * `temporary` — 5xx, 429, timeout or network (keep everything, the caller may retry);
 * `rejected` — any other refusal (a configuration problem: keep the tokens, say what it was).
 */
export class TokenEndpointError extends Error {
  readonly kind: 'invalid_grant' | 'temporary' | 'rejected'
  readonly status: number | undefined
  /** The OAuth `error` code, when the provider gave one. */
  readonly oauthError: string | undefined

  constructor (kind: TokenEndpointError['kind'], message: string, status?: number, oauthError?: string) {
    super(message)
    this.name = 'TokenEndpointError'
    this.kind = kind
    this.status = status
    this.oauthError = oauthError
  }
}

/** OAuth error codes that mean the grant itself is no longer valid (GitHub has its own names). */
const GRANT_GONE = new Set(['invalid_grant', 'bad_refresh_token', 'bad_verification_code'])

export function parseScopes (scope: string | undefined): string[] | undefined {
  if (scope === undefined) return undefined
  return scope.split(/[\s,]+/).filter(Boolean)
}

function isLoopbackHttp (value: string | undefined): boolean {
  return value !== undefined && value.startsWith('http:')
}

/** Token endpoints that say "error" with a 200 (GitHub) answer with the 400 they mean. */
const quirkFetch: oidc.CustomFetch = async (url, options) => {
  const response = await fetch(url, options as RequestInit)
  if (options.method !== 'POST' || response.status !== 200 || !(response.headers.get('content-type') ?? '').includes('json')) return response
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const status = body !== null && typeof body === 'object' && typeof (body as Record<string, unknown>).error === 'string' &&
    (body as Record<string, unknown>).access_token === undefined ? 400 : 200
  return new Response(text, { status, headers: response.headers })
}

function clientAuth (provider: CompiledOAuthProvider): oidc.ClientAuth {
  if (provider.clientAuthMethod === 'client_secret_post') return oidc.ClientSecretPost(provider.clientSecret)
  if (provider.clientAuthMethod === 'client_secret_basic') return oidc.ClientSecretBasic(provider.clientSecret)
  return oidc.None()
}

export function classifyTokenError (err: unknown): TokenEndpointError {
  if (err instanceof TokenEndpointError) return err
  if (err instanceof oidc.ResponseBodyError) {
    if (err.status >= 500 || err.status === 429) return new TokenEndpointError('temporary', `the provider answered HTTP ${err.status} (${err.error})`, err.status, err.error)
    if (GRANT_GONE.has(err.error)) return new TokenEndpointError('invalid_grant', `the provider refused the grant (${err.error})`, err.status, err.error)
    return new TokenEndpointError('rejected', `the provider refused the request (${err.error})`, err.status, err.error)
  }
  const cause = (err as { cause?: unknown }).cause
  if (cause instanceof Response) {
    const status = cause.status
    if (status >= 500 || status === 429) return new TokenEndpointError('temporary', `the provider answered HTTP ${status}`, status)
    return new TokenEndpointError('rejected', `the provider gave an unexpected answer (HTTP ${status})`, status)
  }
  const name = (err as Error).name
  if (name === 'TimeoutError' || name === 'AbortError') return new TokenEndpointError('temporary', 'the provider did not answer in time')
  if (err instanceof TypeError || (err as { code?: string }).code === 'OAUTH_TIMEOUT') return new TokenEndpointError('temporary', 'the provider could not be reached')
  return new TokenEndpointError('rejected', `the provider's answer could not be used (${(err as { code?: string }).code ?? name})`)
}

/** openid-client Configurations per provider settings. */
export class OAuthClients {
  private readonly configs = new Map<string, Promise<oidc.Configuration>>()

  async config (provider: CompiledOAuthProvider): Promise<oidc.Configuration> {
    let config = this.configs.get(provider.fingerprint)
    if (!config) {
      config = this.build(provider)
      this.configs.set(provider.fingerprint, config)
      config.catch(() => this.configs.delete(provider.fingerprint))
    }
    return await config
  }

  /** Forgets clients of settings no longer in use (called when a new config version loads). */
  retain (providers: Iterable<CompiledOAuthProvider>): void {
    const keep = new Set([...providers].map(p => p.fingerprint))
    for (const key of this.configs.keys()) if (!keep.has(key)) this.configs.delete(key)
  }

  private async build (provider: CompiledOAuthProvider): Promise<oidc.Configuration> {
    const insecure = [provider.issuer, provider.authorizationUrl, provider.tokenUrl, provider.revocationUrl].some(isLoopbackHttp)
    let metadata: { -readonly [K in keyof oidc.ServerMetadata]: oidc.ServerMetadata[K] }
    if (provider.issuer !== undefined) {
      const discovered = await oidc.discovery(new URL(provider.issuer), provider.clientId, undefined, clientAuth(provider), {
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
        timeout: PROVIDER_TIMEOUT_SECONDS,
        [oidc.customFetch]: quirkFetch
      })
      metadata = { ...discovered.serverMetadata() }
    } else {
      metadata = { issuer: new URL(provider.tokenUrl!).origin }
    }
    if (provider.authorizationUrl !== undefined) metadata.authorization_endpoint = provider.authorizationUrl
    if (provider.tokenUrl !== undefined) metadata.token_endpoint = provider.tokenUrl
    if (provider.revocationUrl !== undefined) metadata.revocation_endpoint = provider.revocationUrl
    const config = new oidc.Configuration(metadata, provider.clientId, undefined, clientAuth(provider))
    if (insecure) oidc.allowInsecureRequests(config)
    config.timeout = PROVIDER_TIMEOUT_SECONDS
    config[oidc.customFetch] = quirkFetch
    return config
  }

  async authorizationUrl (provider: CompiledOAuthProvider, parameters: Record<string, string>): Promise<URL> {
    return oidc.buildAuthorizationUrl(await this.config(provider), { ...provider.authorizationParams, ...parameters })
  }

  /** The callback's code for tokens (state and PKCE checked by openid-client). */
  async exchangeCode (provider: CompiledOAuthProvider, callbackUrl: URL, checks: { state: string, codeVerifier?: string, nonce?: string }): Promise<TokenSet> {
    const config = await this.config(provider)
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.state,
        ...(checks.codeVerifier ? { pkceCodeVerifier: checks.codeVerifier } : {}),
        ...(checks.nonce ? { expectedNonce: checks.nonce } : {}),
        idTokenExpected: false
      })
      return tokenSet(tokens)
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError) throw new TokenEndpointError('rejected', `the provider refused the authorization (${err.error})`, undefined, err.error)
      throw classifyTokenError(err)
    }
  }

  async refresh (provider: CompiledOAuthProvider, refreshToken: string): Promise<TokenSet> {
    const config = await this.config(provider).catch(err => { throw classifyTokenError(err) })
    try {
      return tokenSet(await oidc.refreshTokenGrant(config, refreshToken))
    } catch (err) {
      throw classifyTokenError(err)
    }
  }

  /** Revokes a token where the provider has a revocation endpoint; false when it has none. */
  async revoke (provider: CompiledOAuthProvider, token: string, hint: 'access_token' | 'refresh_token'): Promise<boolean> {
    const config = await this.config(provider)
    if (!config.serverMetadata().revocation_endpoint) return false
    try {
      await oidc.tokenRevocation(config, token, { token_type_hint: hint })
      return true
    } catch (err) {
      throw classifyTokenError(err)
    }
  }
}

function tokenSet (tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): TokenSet {
  const set: TokenSet = { accessToken: tokens.access_token, tokenType: tokens.token_type }
  if (tokens.refresh_token !== undefined) set.refreshToken = tokens.refresh_token
  const expiresIn = tokens.expiresIn()
  if (expiresIn !== undefined) set.expiresAt = new Date(Date.now() + expiresIn * 1000)
  const scopes = parseScopes(tokens.scope)
  if (scopes !== undefined) set.scopes = scopes
  return set
}
