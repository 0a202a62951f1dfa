// Checks of a provider's `oauth` block that the JSON Schema cannot make: where the endpoints come
// from, transport security, how the client secret is given, and where the token goes.
import type { ConfigProblem } from '../errors.ts'
import type { ProviderDoc, ProviderOAuthDoc, VariableDoc } from './document.ts'
import { referencedVariables } from './templates.ts'

const SINGLE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]{0,127})\}$/

/** `NAME` when the value is exactly one `${NAME}` reference. */
export function secretReference (value: string): string | undefined {
  return SINGLE_REFERENCE.exec(value)?.[1]
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** OAuth endpoints carry codes and tokens: https, or plain http on loopback only (tests, local IdPs). */
export function oauthUrlProblem (value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `"${value}" is not an absolute URL`
  }
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) return 'must be an https URL (http is allowed on loopback addresses only)'
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https URL'
  if (url.username || url.password) return 'must not carry credentials'
  if (url.hash) return 'must not have a fragment'
  return undefined
}

/** The client authentication a provider uses: as given, else basic with a secret and none without. */
export function clientAuthMethodOf (oauth: ProviderOAuthDoc, hasSecret: boolean): NonNullable<ProviderOAuthDoc['clientAuthMethod']> {
  return oauth.clientAuthMethod ?? (hasSecret ? 'client_secret_basic' : 'none')
}

export function checkProviderOAuth (provider: ProviderDoc, at: string, variables: readonly VariableDoc[], problems: ConfigProblem[]): void {
  const oauth = provider.oauth
  if (!oauth) return
  const where = `${at}.oauth`
  if (oauth.issuer === undefined && (oauth.authorizationUrl === undefined || oauth.tokenUrl === undefined)) {
    problems.push({ path: where, message: 'needs an issuer (endpoints from its discovery document) or both authorizationUrl and tokenUrl' })
  }
  for (const field of ['issuer', 'authorizationUrl', 'tokenUrl', 'revocationUrl'] as const) {
    const value = oauth[field]
    if (value === undefined) continue
    const problem = oauthUrlProblem(value)
    if (problem) problems.push({ path: `${where}.${field}`, message: problem })
  }
  const kinds = new Map(variables.map(v => [v.name, v.kind]))
  for (const name of referencedVariables(oauth.clientId)) {
    if (!kinds.has(name)) problems.push({ path: `${where}.clientId`, message: `unknown variable \${${name}}` })
  }
  if (oauth.clientSecret !== undefined) {
    const name = secretReference(oauth.clientSecret)
    if (name !== undefined) {
      if (!kinds.has(name)) problems.push({ path: `${where}.clientSecret`, message: `unknown variable \${${name}}` })
      else if (kinds.get(name) !== 'SECRET') problems.push({ path: `${where}.clientSecret`, message: `\${${name}} is an ENV variable; a client secret must be a SECRET variable (sealed at rest) or a literal (sealed here)` })
    } else if (oauth.clientSecret.includes('${')) {
      problems.push({ path: `${where}.clientSecret`, message: 'must be a literal or exactly one ${NAME} reference to a SECRET variable' })
    }
    if (oauth.clientAuthMethod === 'none') problems.push({ path: `${where}.clientSecret`, message: 'a public client (clientAuthMethod "none") has no secret' })
  }
  const inject = oauth.inject
  if (inject) {
    if (inject.query !== undefined && (inject.header !== undefined || inject.scheme !== undefined)) {
      problems.push({ path: `${where}.inject`, message: 'the token goes in a header (header, scheme) or a query parameter (query), not both' })
    }
    const header = (inject.header ?? (inject.query === undefined ? 'authorization' : undefined))?.toLowerCase()
    if (header !== undefined && Object.keys(provider.headers ?? {}).some(name => name.toLowerCase() === header)) {
      problems.push({ path: `${where}.inject.header`, message: `the provider's headers already set "${header}"; the end user's token would replace it` })
    }
  } else if (Object.keys(provider.headers ?? {}).some(name => name.toLowerCase() === 'authorization')) {
    problems.push({ path: `${at}.headers`, message: 'an OAuth provider injects each end user\'s token as Authorization; remove this header or set oauth.inject' })
  }
}
