// The OAuth client against the mock providers' real quirks: GitHub's HTTP 200 errors, lowercase
// bearer, comma scopes, no expires_in; and how each refresh failure is classified (what decides
// whether stored tokens are deleted, kept, or reported as a configuration problem).
import t from 'tap'
import { OAuthClients, TokenEndpointError } from '../../src/oauth/client.ts'
import type { CompiledOAuthProvider } from '../../src/tools/compiled.ts'
import { startMockGitHub, startMockGoogle } from '../fixtures/oauth/index.ts'

function providerFor (mock: { authorizationEndpoint: string, tokenEndpoint: string, clientId: string, clientSecret: string, issuer?: string }, overrides: Partial<CompiledOAuthProvider> = {}): CompiledOAuthProvider {
  return {
    name: 'p',
    ...(mock.issuer ? { issuer: mock.issuer } : { authorizationUrl: mock.authorizationEndpoint, tokenUrl: mock.tokenEndpoint }),
    clientId: mock.clientId,
    clientSecret: mock.clientSecret,
    clientAuthMethod: 'client_secret_post',
    pkce: true,
    scopes: [],
    authorizationParams: {},
    inject: { header: 'authorization', scheme: 'Bearer' },
    refreshSkewMs: 60_000,
    fingerprint: `${mock.tokenEndpoint}:${JSON.stringify(overrides)}`,
    ...overrides
  }
}

async function failure (promise: Promise<unknown>): Promise<TokenEndpointError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof TokenEndpointError)) throw new Error(`expected a TokenEndpointError, got ${String(err)}`)
  return err
}

t.test('GitHub: comma scopes, lowercase bearer, 200-with-error refusals and refresh failures', async t => {
  const github = await startMockGitHub({ expiringTokens: true })
  t.teardown(() => github.close())
  const clients = new OAuthClients()
  const provider = providerFor(github)
  const { refreshToken } = github.grant('alice', ['repo', 'read:user'])

  const refreshed = await clients.refresh(provider, refreshToken!)
  t.same(refreshed.scopes, ['repo', 'read:user'], 'comma-separated scopes split')
  t.equal(refreshed.tokenType, 'bearer')
  t.ok(refreshed.expiresAt && refreshed.expiresAt.getTime() > Date.now(), 'expires_in honoured')
  t.ok(refreshed.refreshToken && refreshed.refreshToken !== refreshToken, 'rotated refresh token returned')

  const dead = await failure(clients.refresh(provider, refreshToken!))
  t.equal(dead.kind, 'invalid_grant', 'GitHub\'s HTTP 200 bad_refresh_token means the grant is gone')
  t.equal(dead.oauthError, 'bad_refresh_token')

  github.refreshFailures.push({ status: 503 }, { status: 429, retryAfter: 3 })
  t.equal((await failure(clients.refresh(provider, refreshed.refreshToken!))).kind, 'temporary', '503 keeps tokens')
  const limited = await failure(clients.refresh(provider, refreshed.refreshToken!))
  t.equal(limited.kind, 'temporary', '429 keeps tokens')
  t.equal(limited.status, 429)

  const wrongSecret = await failure(clients.refresh(providerFor(github, { clientSecret: 'wrong', fingerprint: 'wrong' }), refreshed.refreshToken!))
  t.equal(wrongSecret.kind, 'rejected', 'bad client credentials are a configuration problem, not a dead grant')
  t.equal(wrongSecret.oauthError, 'incorrect_client_credentials')
  t.equal(await clients.revoke(provider, refreshed.accessToken, 'access_token'), false, 'no revocation endpoint: nothing revoked')
})

t.test('GitHub code exchange: default tokens come without expires_in or refresh token', async t => {
  const github = await startMockGitHub({ redirectUris: ['http://127.0.0.1:1/cb'] })
  t.teardown(() => github.close())
  const clients = new OAuthClients()
  const provider = providerFor(github)
  const verifier = 'v'.repeat(50)
  const { createHash } = await import('node:crypto')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const url = await clients.authorizationUrl(provider, { redirect_uri: 'http://127.0.0.1:1/cb', state: 'st', scope: 'repo read:user', code_challenge: challenge, code_challenge_method: 'S256' })
  t.equal(url.origin + url.pathname, github.authorizationEndpoint)
  const back = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!)
  const tokens = await clients.exchangeCode(provider, back, { state: 'st', codeVerifier: verifier })
  t.equal(tokens.expiresAt, undefined, 'no expires_in: expiry unknown, not expired')
  t.equal(tokens.refreshToken, undefined)
  t.same(tokens.scopes, ['repo', 'read:user'])
  const replay = await failure(clients.exchangeCode(provider, back, { state: 'st', codeVerifier: verifier }))
  t.equal(replay.kind, 'invalid_grant', 'a used code: GitHub\'s 200 bad_verification_code')
  t.equal(replay.oauthError, 'bad_verification_code')
})

t.test('Google: discovery, unreachable provider, invalid_grant, and a discovery failure that is retried', async t => {
  const google = await startMockGoogle()
  const clients = new OAuthClients()
  const provider = providerFor(google, { clientAuthMethod: 'client_secret_basic' })
  const { refreshToken } = google.grant('bob', ['openid', 'email'])
  const refreshed = await clients.refresh(provider, refreshToken!)
  t.same(refreshed.scopes, ['openid', 'email'])
  google.refreshFailures.push({ error: 'invalid_grant' })
  const dead = await failure(clients.refresh(provider, refreshed.refreshToken!))
  t.equal(dead.kind, 'invalid_grant')
  t.equal(dead.status, 400)
  t.equal(await clients.revoke(provider, refreshed.accessToken, 'access_token'), true, 'revocation endpoint from discovery')
  await google.close()
  const down = await failure(clients.refresh(providerFor(google, { fingerprint: 'after-close' }), 'x'))
  t.equal(down.kind, 'temporary', 'a provider that cannot be reached is temporary')
})
