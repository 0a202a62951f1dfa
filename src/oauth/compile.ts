// A provider's `oauth` block → the settings a call and a consent flow use, resolved once per
// config version: variables in the client id, the client secret (a SECRET variable, or the
// literal opened from the provider row), the token's injection point.
import { createHash } from 'node:crypto'
import type { ProviderDoc } from '../config/document.ts'
import { clientAuthMethodOf, secretReference } from '../config/oauth.ts'
import { resolveTemplate } from '../config/templates.ts'
import type { ConfigProblem } from '../errors.ts'
import type { CompiledOAuthProvider, TokenInjection } from '../tools/compiled.ts'

export const DEFAULT_REFRESH_SKEW_SECONDS = 60

export function compileOAuthProvider (
  provider: ProviderDoc, at: string, values: ReadonlyMap<string, string>, storedSecret: string | undefined, problems: ConfigProblem[]
): CompiledOAuthProvider | undefined {
  const oauth = provider.oauth
  if (!oauth) return undefined
  const reference = oauth.clientSecret === undefined ? undefined : secretReference(oauth.clientSecret)
  const clientSecret = reference !== undefined ? values.get(reference) : oauth.clientSecret ?? storedSecret
  const clientAuthMethod = clientAuthMethodOf(oauth, clientSecret !== undefined)
  if (clientAuthMethod !== 'none' && clientSecret === undefined) {
    problems.push({ path: `${at}.oauth.clientSecret`, message: `is required for clientAuthMethod "${clientAuthMethod}" (none is stored for this provider)` })
    return undefined
  }
  const inject: TokenInjection = oauth.inject?.query !== undefined
    ? { query: oauth.inject.query }
    : oauth.inject?.header !== undefined && oauth.inject.header.toLowerCase() !== 'authorization'
      ? { header: oauth.inject.header.toLowerCase(), ...(oauth.inject.scheme ? { scheme: oauth.inject.scheme } : {}) }
      : { header: 'authorization', scheme: oauth.inject?.scheme ?? 'Bearer' }
  const compiled: CompiledOAuthProvider = {
    name: provider.name,
    clientId: resolveTemplate(oauth.clientId, values),
    clientAuthMethod,
    pkce: oauth.pkce ?? true,
    scopes: oauth.scopes ?? [],
    authorizationParams: oauth.authorizationParams ?? {},
    inject,
    refreshSkewMs: (oauth.refreshSkewSeconds ?? DEFAULT_REFRESH_SKEW_SECONDS) * 1000,
    fingerprint: ''
  }
  if (provider.description !== undefined) compiled.description = provider.description
  for (const field of ['issuer', 'authorizationUrl', 'tokenUrl', 'revocationUrl'] as const) {
    if (oauth[field] !== undefined) compiled[field] = oauth[field]
  }
  if (clientAuthMethod !== 'none') compiled.clientSecret = clientSecret!
  // Includes the secret (hashed): a rotated secret must build a new client.
  compiled.fingerprint = createHash('sha256').update(JSON.stringify({ ...compiled, fingerprint: undefined })).digest('base64url')
  return compiled
}
