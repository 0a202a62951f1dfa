// Refresh of end users' upstream tokens: ahead of expiry and after an upstream 401, single-flight
// in a process and serialised by a row lock across processes, rotated refresh tokens kept, and
// tokens deleted only when the provider says the grant is gone.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { MockGitHub, MockGoogle } from '../fixtures/oauth/index.ts'
import { freePort, killMain, startMain } from '../helpers/cli.ts'
import { ADMIN_TOKEN, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { completeConsent, linkIn, oauthConfig, startOAuthSetup, type OAuthSetup } from '../helpers/oauth.ts'

useTestCluster(t)
t.setTimeout(180_000)

let google: MockGoogle
let github: MockGitHub
let gw: TestGateway
let handle: { db: OAuthSetup['db'] }
let key: string
let aliceId: string

async function connect (url: string, apiKey = key): Promise<Client> {
  const client = new Client({ name: 'refresh-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp/work`), { requestInit: { headers: { authorization: `Bearer ${apiKey}` } } }))
  t.teardown(() => client.close())
  return client
}

const text = (result: Awaited<ReturnType<Client['callTool']>>) => (result.content as Array<{ text: string }>)[0]!.text
const row = async () => await handle.db.selectFrom('oauth_tokens').selectAll().where('end_user_id', '=', aliceId).where('provider', '=', 'google').executeTakeFirst()
const expireStored = async () => await handle.db.updateTable('oauth_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('end_user_id', '=', aliceId).execute()

t.before(async () => {
  let db: OAuthSetup['db']
  ({ google, github, gw, db } = await startOAuthSetup(t))
  handle = { db }
  key = await gw.createKey({ endUser: 'alice' })
  const client = await connect(gw.url)
  const first = await client.callTool({ name: 'google_whoami', arguments: {} })
  const consent = await completeConsent(linkIn(text(first)), 'alice')
  if (consent.status !== 200) throw new Error(consent.page)
  aliceId = (await handle.db.selectFrom('end_users').select('id').where('external_id', '=', 'alice').executeTakeFirstOrThrow()).id
})

t.test('50 concurrent calls with an expired token: exactly one refresh, every call succeeds, the rotated refresh token is stored', async t => {
  const client = await connect(gw.url)
  const stored = await row()
  t.ok(stored?.expires_at, 'Google tokens expire (expires_in stored)')
  await expireStored()
  const before = google.refreshCount()
  const results = await Promise.all(Array.from({ length: 50 }, () => client.callTool({ name: 'google_whoami', arguments: {} })))
  t.equal(google.refreshCount() - before, 1, 'one refresh request at the provider')
  t.equal(results.filter(r => r.isError).length, 0, 'every call succeeded')
  const after = await row()
  t.ok(after!.expires_at!.getTime() > Date.now(), 'the new expiry is stored')
  t.ok(after!.refreshed_at, 'refreshed_at set')
  t.notSame(after!.refresh_token, stored!.refresh_token, 'the rotated refresh token replaced the old one')
  const live = google.accessTokensOf('alice').at(-1)!
  t.equal(google.apiCalls.at(-1)!.token, live, 'calls use the refreshed token')
})

t.test('two Toolgate processes on one Postgres: still exactly one refresh', async t => {
  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-replica-'))
  const second = await startMain({
    DATABASE_URL: gw.databaseUrl,
    TOOLGATE_ENCRYPTION_KEYS: gw.settings.encryptionKeys!,
    TOOLGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    TOOLGATE_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    TOOLGATE_PUBLIC_URL: gw.settings.publicUrl
  })
  t.teardown(async () => { await killMain(second, dataDir); await rm(dataDir, { recursive: true, force: true }) })
  const here = await connect(gw.url)
  const there = await connect(`http://127.0.0.1:${port}`)
  t.notOk((await there.callTool({ name: 'google_whoami', arguments: {} })).isError, 'the second process serves alice with the stored token')
  await expireStored()
  const before = google.refreshCount()
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? here : there).callTool({ name: 'google_whoami', arguments: {} })))
  t.equal(google.refreshCount() - before, 1, 'one refresh request across both processes')
  t.equal(results.filter(r => r.isError).length, 0, results.filter(r => r.isError).map(text).join('; '))
})

t.test('an upstream 401 refreshes once and retries', async t => {
  const client = await connect(gw.url)
  google.expireAccessTokens('alice')
  const before = google.refreshCount()
  const calls = google.apiCalls.length
  const result = await client.callTool({ name: 'google_whoami', arguments: {} })
  t.notOk(result.isError, text(result))
  t.equal(google.refreshCount() - before, 1)
  t.same(google.apiCalls.slice(calls).map(call => call.user === null ? 401 : 200), [401, 200], 'refused, refreshed, retried')
})

t.test('refresh answered 503, then 429, then invalid_grant: tokens kept, kept, then deleted and consent asked again', async t => {
  const client = await connect(gw.url)
  const audit = async () => await handle.db.selectFrom('audit_log').select(['action', 'details']).where('action', '=', 'oauth.refresh_failed').orderBy('id').execute()
  const auditBefore = (await audit()).length

  for (const failure of [{ status: 503 as const }, { status: 429 as const, retryAfter: 5 }]) {
    await expireStored()
    const stored = await row()
    google.refreshFailures.push(failure)
    const result = await client.callTool({ name: 'google_whoami', arguments: {} })
    t.equal(result.isError, true, `${failure.status}: an error result`)
    t.match(text(result), 'try again shortly', `${failure.status}: retryable`)
    t.notMatch(text(result), '/oauth/consent', `${failure.status}: no consent asked`)
    const kept = await row()
    t.ok(kept, `${failure.status}: tokens kept`)
    t.same(kept!.access_token, stored!.access_token, `${failure.status}: unchanged`)
    t.same(kept!.refresh_token, stored!.refresh_token)
  }
  await expireStored()
  google.refreshFailures.push({ error: 'invalid_grant' })
  const gone = await client.callTool({ name: 'google_whoami', arguments: {} })
  t.equal(gone.isError, true)
  t.match(text(gone), '/oauth/consent?request=', 'invalid_grant: consent asked again')
  t.equal(await row(), undefined, 'invalid_grant: tokens deleted')
  const failures = (await audit()).slice(auditBefore)
  t.same(failures.map(f => (f.details as { kind: string }).kind), ['temporary', 'temporary', 'invalid_grant'], 'each failure audited')
  t.same(failures.map(f => (f.details as { tokensDeleted: boolean }).tokensDeleted), [false, false, true])
  t.notOk(JSON.stringify(failures).includes('ya29.'), 'no token in the audit log')
  await gw.gateway.notices.settle()
  const notices = await (await gw.admin('GET', '/notifications')).json() as { notifications: Array<{ kind: string, subject: string, message: string, resolvedAt: string | null }> }
  const notice = notices.notifications.find(n => n.kind === 'oauth.refresh_failed' && n.subject === 'google')
  t.ok(notice && notice.resolvedAt === null, 'the operator has an open notice about the failing refresh')
  t.match(notice?.message, 'invalid_grant')
  t.notOk(JSON.stringify(notices).includes('ya29.'), 'no token in a notice')

  const again = await client.callTool({ name: 'google_whoami', arguments: {} })
  t.match(text(again), '/oauth/consent?request=', 'the next call asks for consent again')
  const consent = await completeConsent(linkIn(text(again)), 'alice')
  t.equal(consent.status, 200)
  t.notOk((await client.callTool({ name: 'google_whoami', arguments: {} })).isError, 'connected again')
})

t.test('an expired token without a refresh token, and a tool needing an ungranted scope, ask for consent', async t => {
  const client = await connect(gw.url)
  await handle.db.updateTable('oauth_tokens').set({ refresh_token: null, expires_at: new Date(Date.now() - 1000) }).where('end_user_id', '=', aliceId).execute()
  const expired = await client.callTool({ name: 'google_whoami', arguments: {} })
  t.match(text(expired), 'needs to be connected again (the authorization expired)')
  await completeConsent(linkIn(text(expired)), 'alice')

  const first = await client.callTool({ name: 'github_whoami', arguments: {} })
  await completeConsent(linkIn(text(first)), 'alice')
  t.notOk((await client.callTool({ name: 'github_whoami', arguments: {} })).isError)
  const applied = await gw.applyConfig(oauthConfig(google, github, { githubScopes: ['repo'] }))
  t.equal(applied.status, 200)
  const more = await client.callTool({ name: 'github_whoami', arguments: {} })
  t.match(text(more), 'needs more permissions than were granted')
  t.match(text(more), 'read:user, repo', 'consent asks for what was granted plus what the tool needs')
  const consent = await completeConsent(linkIn(text(more)), 'alice')
  t.equal(consent.status, 200)
  t.equal(github.authorizationRequests.at(-1)!.params.scope, 'read:user repo')
  const ok = await client.callTool({ name: 'github_whoami', arguments: {} })
  t.notOk(ok.isError, text(ok))
  await gw.applyConfig(oauthConfig(google, github))
})
