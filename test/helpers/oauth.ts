// Upstream-OAuth test helpers: a gateway whose public URL is its real address (consent links and
// the redirect URI must point at it), the config for the mock providers, and a tiny browser with
// a cookie jar that follows a consent link the way a user would.
import type { Test } from 'tap'
import { startMockGitHub, startMockGoogle, type MockGitHub, type MockGoogle, type MockProvider } from '../fixtures/oauth/index.ts'
import { freePort } from './cli.ts'
import { openTestDb, startTestGateway, type TestGateway } from './gateway.ts'

export async function startOAuthGateway (t: Test, env: Record<string, string> = {}): Promise<TestGateway> {
  const port = await freePort()
  // The tests run many consent flows from one address: the default 60/minute budget is not what they test.
  return await startTestGateway(t, { PORT: String(port), TOOLGATE_PUBLIC_URL: `http://127.0.0.1:${port}`, TOOLGATE_RATE_LIMIT_OAUTH: '100000/minute', ...env })
}

/** Cookies by name, kept across requests like a browser's jar (one host: the tests' loopback). */
export class Browser {
  readonly cookies = new Map<string, string>()

  async get (url: string, headers: Record<string, string> = {}): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    const response = await fetch(url, { redirect: 'manual', headers: { ...headers, ...(cookie ? { cookie } : {}) } })
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim())
    }
    return response
  }
}

export interface ConsentRun {
  /** The consent page's HTML. */
  consentPage: string
  /** Where the provider sent the browser back (the gateway's callback, with code and state). */
  callbackUrl: string
  status: number
  page: string
}

function unescapeHtml (text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
}

/** Follows everything up to the provider's redirect back; `finish` then visits the callback. */
export async function beginConsent (consentUrl: string, user: string, browser = new Browser()): Promise<{ browser: Browser, consentPage: string, callbackUrl: string }> {
  const page = await browser.get(consentUrl)
  const consentPage = await page.text()
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${consentPage}`)
  const href = /<a class="button" href="([^"]+)"/.exec(consentPage)?.[1]
  if (!href) throw new Error('no continue link on the consent page')
  const start = await browser.get(unescapeHtml(href))
  if (start.status !== 302) throw new Error(`start answered ${start.status}: ${await start.text()}`)
  const authorize = await browser.get(start.headers.get('location')!, { 'x-mock-user': user })
  if (authorize.status !== 302) throw new Error(`provider answered ${authorize.status}: ${await authorize.text()}`)
  return { browser, consentPage, callbackUrl: authorize.headers.get('location')! }
}

export async function finishConsent (begun: { browser: Browser, callbackUrl: string }): Promise<{ status: number, page: string }> {
  const callback = await begun.browser.get(begun.callbackUrl)
  return { status: callback.status, page: await callback.text() }
}

/** The whole consent as user `user` would do it; the callback's page and status. */
export async function completeConsent (consentUrl: string, user: string): Promise<ConsentRun> {
  const begun = await beginConsent(consentUrl, user)
  return { consentPage: begun.consentPage, callbackUrl: begun.callbackUrl, ...await finishConsent(begun) }
}

/** The consent URL in an isError result's text. */
export function linkIn (text: string): string {
  const url = /(http:\/\/\S+\/oauth\/consent\?request=[A-Za-z0-9_-]+)/.exec(text)?.[1]
  if (!url) throw new Error(`no consent link in: ${text}`)
  return url
}

/** Providers and a server with one tool per provider, for the mocks. */
export function oauthConfig (google: MockProvider, github: MockProvider, options: { githubScopes?: string[] } = {}) {
  return {
    variables: [{ name: 'GITHUB_CLIENT_SECRET', kind: 'SECRET', value: github.clientSecret }],
    providers: [
      {
        name: 'google',
        description: 'Google (mock)',
        baseUrl: google.apiBase,
        oauth: {
          issuer: google.issuer,
          clientId: google.clientId,
          clientSecret: google.clientSecret,
          scopes: ['openid', 'email'],
          authorizationParams: { access_type: 'offline', prompt: 'consent' }
        }
      },
      {
        name: 'github',
        baseUrl: github.apiBase,
        oauth: {
          authorizationUrl: github.authorizationEndpoint,
          tokenUrl: github.tokenEndpoint,
          clientId: github.clientId,
          clientSecret: '${GITHUB_CLIENT_SECRET}',
          clientAuthMethod: 'client_secret_post',
          scopes: ['read:user']
        }
      }
    ],
    servers: [{
      name: 'work',
      tools: [
        { name: 'google_whoami', provider: 'google', method: 'GET', path: '/whoami' },
        { name: 'github_whoami', provider: 'github', method: 'GET', path: '/whoami', ...(options.githubScopes ? { scopes: options.githubScopes } : {}) }
      ]
    }]
  }
}

export interface OAuthSetup {
  google: MockGoogle
  github: MockGitHub
  gw: TestGateway
  /** Direct database access for assertions. */
  db: ReturnType<typeof openTestDb>['db']
}

/** Both mock providers, a gateway registered with them, the `oauthConfig` applied; all stopped at teardown. */
export async function startOAuthSetup (t: Test): Promise<OAuthSetup> {
  const google = await startMockGoogle()
  const github = await startMockGitHub()
  const gw = await startOAuthGateway(t)
  google.redirectUris = [`${gw.settings.publicUrl}/oauth/callback`]
  github.redirectUris = [`${gw.settings.publicUrl}/oauth/callback`]
  const applied = await gw.applyConfig(oauthConfig(google, github))
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(async () => {
    await db.destroy()
    await google.close()
    await github.close()
  })
  return { google, github, gw, db }
}
