// Upstream OAuth, driven as users would: an MCP client calls a tool that needs the user's Google or
// GitHub account, is told where to consent (in the form its protocol era knows), the user's
// browser follows the link through the provider, and the retried call carries that user's token.
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ElicitationCompleteNotificationSchema, McpError } from '@modelcontextprotocol/sdk/types.js'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import type { MockGitHub, MockGoogle } from '../fixtures/oauth/index.ts'
import { useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { initializeMessage, mcpRaw } from '../helpers/mcp-raw.ts'
import { beginConsent, completeConsent, finishConsent, linkIn, startOAuthSetup, type OAuthSetup } from '../helpers/oauth.ts'

useTestCluster(t)

let google: MockGoogle
let github: MockGitHub
let gw: TestGateway
let db: OAuthSetup['db']

t.before(async () => {
  ({ google, github, gw, db } = await startOAuthSetup(t))
})

async function legacyClient (key: string, capabilities: Record<string, unknown>): Promise<Client> {
  const client = new Client({ name: 'oauth-test', version: '1.0.0' }, { capabilities })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp/work`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
  t.teardown(() => client.close())
  return client
}

const tokenRows = async () => await db.selectFrom('oauth_tokens').select(['provider', 'end_user_id']).execute()

t.test('2025-11-25 with URL elicitation: -32042, consent, completion notice, then the call carries the user\'s token', async t => {
  const key = await gw.createKey({ endUser: 'alice' })
  const client = await legacyClient(key, { elicitation: { url: {} } })
  const completed: string[] = []
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, notification => { completed.push(notification.params.elicitationId) })

  const refused = await client.callTool({ name: 'google_whoami', arguments: {} }).then(() => undefined, (err: unknown) => err)
  t.ok(refused instanceof McpError, 'the call fails with a JSON-RPC error')
  const error = refused as McpError
  t.equal(error.code, -32042, 'URLElicitationRequiredError')
  const elicitation = (error.data as { elicitations: Array<Record<string, string>> }).elicitations[0]!
  t.equal(elicitation.mode, 'url')
  t.match(elicitation.url, `${gw.settings.publicUrl}/oauth/consent?request=`)
  t.match(elicitation.message, /google/i)
  t.ok(elicitation.elicitationId, 'names the elicitation')
  t.equal(google.apiCalls.length, 0, 'nothing reached the upstream without a token')

  const run = await completeConsent(elicitation.url!, 'alice')
  t.match(run.consentPage, 'Google (mock)', 'the consent page names the provider')
  t.match(run.consentPage, '<code>openid</code>', 'and the scopes')
  t.equal(run.status, 200, run.page)
  t.match(run.page, 'You can close this window')
  const authorize = google.authorizationRequests.at(-1)!
  t.equal(authorize.params.code_challenge_method, 'S256', 'PKCE S256')
  t.equal(authorize.params.access_type, 'offline', 'extra authorization parameters are sent')
  t.equal(authorize.params.prompt, 'consent')
  t.equal(authorize.params.redirect_uri, `${gw.settings.publicUrl}/oauth/callback`, 'the fixed redirect URI')

  for (let i = 0; i < 50 && completed.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.same(completed, [elicitation.elicitationId], 'notifications/elicitation/complete on the session stream')

  const result = await client.callTool({ name: 'google_whoami', arguments: {} })
  t.notOk(result.isError, JSON.stringify(result.content))
  t.match((result.content as Array<{ text: string }>)[0]!.text, '"user":"alice"')
  const call = google.apiCalls.at(-1)!
  t.equal(call.user, 'alice', 'the upstream saw alice\'s token')
  t.equal(call.headers.authorization, `Bearer ${google.accessTokensOf('alice').at(-1)}`)
  t.notOk(JSON.stringify(call).includes(key), 'the Toolgate API key never reaches the upstream')
})

t.test('2026-07-28 with URL elicitation: input_required with a sealed requestState, retried by the v2 SDK', async t => {
  const key = await gw.createKey({ endUser: 'carol' })
  const client = new ModernClient({ name: 'oauth-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { url: {} } } })
  const asked: Array<Record<string, unknown>> = []
  client.setRequestHandler('elicitation/create', async request => {
    asked.push(request.params as Record<string, unknown>)
    const run = await completeConsent((request.params as { url: string }).url, 'carol')
    return run.status === 200 ? { action: 'accept' } : { action: 'cancel' }
  })
  await client.connect(new ModernTransport(new URL(`${gw.url}/mcp/work`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
  t.teardown(() => client.close())

  const result = await client.callTool({ name: 'github_whoami', arguments: {} })
  t.notOk(result.isError, JSON.stringify(result.content))
  t.equal(asked.length, 1, 'one URL elicitation was asked for')
  t.equal(asked[0]!.mode, 'url')
  t.match(String(asked[0]!.url), '/oauth/consent?request=')
  t.equal(github.apiCalls.at(-1)!.user, 'carol', 'the retry carried carol\'s GitHub token')
  t.equal(github.tokenRequests.at(-1)!.clientAuth, 'client_secret_post', 'the configured client authentication')
})

t.test('2026-07-28: the input_required result on the wire, and a tampered requestState is refused', async t => {
  const key = await gw.createKey({ endUser: 'dave' })
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } }
  }
  const post = async (params: Record<string, unknown>) => {
    const response = await fetch(`${gw.url}/mcp/work`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'google_whoami' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'google_whoami', arguments: {}, ...params, _meta: envelope } })
    })
    return await response.json() as { result?: Record<string, any>, error?: { code: number, message: string } }
  }
  const first = await post({})
  t.equal(first.result?.resultType, 'input_required')
  const request = first.result?.inputRequests?.authorize_google
  t.equal(request?.method, 'elicitation/create')
  t.equal(request?.params.mode, 'url')
  t.type(first.result?.requestState, 'string')
  const state = first.result!.requestState as string
  const tampered = state.slice(0, -2) + (state.endsWith('A') ? 'BB' : 'AA')
  const refused = await post({ requestState: tampered, inputResponses: { authorize_google: { action: 'accept' } } })
  t.equal(refused.error?.code, -32602, 'tampered state: invalid params')
  t.match(refused.error?.message, 'requestState')

  await completeConsent(request.params.url, 'dave')
  const retried = await post({ requestState: state, inputResponses: { authorize_google: { action: 'accept' } } })
  t.equal(retried.result?.resultType, 'complete', JSON.stringify(retried))
  t.notOk(retried.result?.isError)
})

t.test('a client without URL elicitation gets an isError result with the link', async t => {
  const key = await gw.createKey({ endUser: 'erin' })
  const client = await legacyClient(key, {})
  const first = await client.callTool({ name: 'github_whoami', arguments: {} })
  t.equal(first.isError, true)
  const text = (first.content as Array<{ text: string }>)[0]!.text
  t.match(text, 'then call github_whoami again')
  const run = await completeConsent(linkIn(text), 'erin')
  t.equal(run.status, 200, run.page)
  const second = await client.callTool({ name: 'github_whoami', arguments: {} })
  t.notOk(second.isError, JSON.stringify(second.content))
  t.equal(github.apiCalls.at(-1)!.user, 'erin')
})

t.test('two end users on one provider: each call carries only its own user\'s token', async t => {
  const keys = { frank: await gw.createKey({ endUser: 'frank' }), grace: await gw.createKey({ endUser: 'grace' }) }
  for (const [user, key] of Object.entries(keys)) {
    const client = await legacyClient(key, {})
    const first = await client.callTool({ name: 'google_whoami', arguments: {} })
    await completeConsent(linkIn((first.content as Array<{ text: string }>)[0]!.text), user)
  }
  const clients = { frank: await legacyClient(keys.frank, {}), grace: await legacyClient(keys.grace, {}) }
  const before = google.apiCalls.length
  await Promise.all(Array.from({ length: 10 }, (_, i) => {
    const user = i % 2 === 0 ? 'frank' : 'grace'
    return clients[user].callTool({ name: 'google_whoami', arguments: {} })
  }))
  const calls = google.apiCalls.slice(before)
  t.equal(calls.length, 10)
  const tokens = { frank: new Set(google.accessTokensOf('frank')), grace: new Set(google.accessTokensOf('grace')) }
  const seen = { frank: 0, grace: 0 }
  for (const call of calls) {
    const user = call.user as 'frank' | 'grace'
    seen[user]++
    t.ok(tokens[user].has(call.token!), `${user}'s call carried ${user}'s own token`)
    t.notOk(Object.values(keys).some(key => JSON.stringify(call.headers).includes(key)), 'no Toolgate API key upstream')
  }
  t.same(seen, { frank: 5, grace: 5 })
})

t.test('state replay, expired state, another user\'s state and denied consent: an error page, nothing stored', async t => {
  const key = await gw.createKey({ endUser: 'heidi' })
  const client = await legacyClient(key, {})
  const link = async () => linkIn(((await client.callTool({ name: 'google_whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text)
  const heidi = await db.selectFrom('end_users').select('id').where('external_id', '=', 'heidi').executeTakeFirstOrThrow()
  const heidiTokens = async () => (await tokenRows()).filter(row => row.end_user_id === heidi.id).length

  google.consent = 'deny'
  const denied = await completeConsent(await link(), 'heidi')
  google.consent = 'approve'
  t.equal(denied.status, 403)
  t.match(denied.page, 'Authorization declined')
  t.equal(await heidiTokens(), 0, 'denied: nothing stored')

  const begun = await beginConsent(await link(), 'heidi')
  await db.updateTable('oauth_states').set({ expires_at: new Date(Date.now() - 1000) }).where('used_at', 'is', null).execute()
  const expired = await finishConsent(begun)
  t.equal(expired.status, 410)
  t.match(expired.page, 'Authorization expired')
  t.equal(await heidiTokens(), 0, 'expired: nothing stored')

  // Mallory starts a consent of her own and gets heidi's browser to land on its callback.
  const malloryKey = await gw.createKey({ endUser: 'mallory' })
  const mallory = await legacyClient(malloryKey, {})
  const malloryLink = linkIn(((await mallory.callTool({ name: 'google_whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text)
  const theirs = await beginConsent(malloryLink, 'mallory')
  const mine = await beginConsent(await link(), 'heidi')
  const crossed = await finishConsent({ browser: mine.browser, callbackUrl: theirs.callbackUrl })
  t.equal(crossed.status, 403)
  t.match(crossed.page, 'started in another browser or for another user')
  const malloryRow = await db.selectFrom('end_users').select('id').where('external_id', '=', 'mallory').executeTakeFirstOrThrow()
  t.notOk((await tokenRows()).some(row => row.end_user_id === malloryRow.id), 'another user\'s state: nothing stored for either')

  const ok = await finishConsent(mine)
  t.equal(ok.status, 200, 'heidi\'s own flow still completes')
  t.equal(await heidiTokens(), 1)
  const replay = await finishConsent(mine)
  t.equal(replay.status, 400)
  t.match(replay.page, 'Authorization already used')
  t.equal(await heidiTokens(), 1, 'replay changed nothing')

  const forged = await fetch(`${gw.settings.publicUrl}/oauth/callback?code=x&state=made-up`)
  t.equal(forged.status, 400)
  t.match(await forged.text(), 'Unknown authorization')
  const badLink = await fetch(`${gw.settings.publicUrl}/oauth/consent?request=AAAA`)
  t.equal(badLink.status, 400)
  t.equal(badLink.headers.get('referrer-policy'), 'no-referrer')
})

t.test('end users list and revoke their own connections; admins see all; revocation reaches the provider', async t => {
  const key = await gw.createKey({ endUser: 'ivan' })
  const client = await legacyClient(key, {})
  await completeConsent(linkIn(((await client.callTool({ name: 'google_whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text), 'ivan')
  const mine = await (await fetch(`${gw.url}/oauth/connections`, { headers: { authorization: `Bearer ${key}` } })).json() as { connections: Array<Record<string, unknown>> }
  t.same(mine.connections.map(c => c.provider), ['google'])
  t.equal(mine.connections[0]!.hasRefreshToken, true)
  t.notOk(JSON.stringify(mine).includes(google.accessTokensOf('ivan')[0]!), 'no token in the listing')
  const all = await (await gw.admin('GET', '/oauth/connections')).json() as { connections: Array<{ endUser: string }> }
  t.ok(all.connections.some(c => c.endUser === 'ivan') && all.connections.some(c => c.endUser === 'alice'), 'admins see every end user')

  const revoked = await fetch(`${gw.url}/oauth/connections/google`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } })
  t.equal(revoked.status, 200)
  t.same(await revoked.json(), { provider: 'google', revoked: true, providerRevoked: true })
  t.ok(google.revoked.length > 0, 'the provider\'s revocation endpoint was called')
  t.equal(google.accessTokensOf('ivan').length, 0, 'the provider no longer honours ivan\'s tokens')
  const again = await client.callTool({ name: 'google_whoami', arguments: {} })
  t.equal(again.isError, true, 'after revoking, the next call asks for consent again')
  t.match((again.content as Array<{ text: string }>)[0]!.text, '/oauth/consent?request=')
  const audit = await db.selectFrom('audit_log').select(['action', 'actor', 'target']).where('action', 'like', 'oauth.%').execute()
  t.ok(audit.some(row => row.action === 'oauth.grant' && row.actor === 'end_user:ivan'), 'grant audited')
  t.ok(audit.some(row => row.action === 'oauth.revoke' && row.actor === 'end_user:ivan'), 'revoke audited')
  const unknown = await fetch(`${gw.url}/oauth/connections/google`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } })
  t.equal(unknown.status, 404)
})

t.test('URL elicitation is a 2025-11-25 feature: an older session that claims it gets the link as an isError result', async t => {
  const key = await gw.createKey({ endUser: 'judy' })
  const init = { ...initializeMessage('2025-06-18'), params: { protocolVersion: '2025-06-18', capabilities: { elicitation: { url: {} } }, clientInfo: { name: 'old', version: '1' } } }
  const opened = await mcpRaw(gw.url, 'work', init, { key })
  const session = opened.headers.get('mcp-session-id')!
  t.ok(session)
  const called = await mcpRaw(gw.url, 'work', { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'google_whoami', arguments: {} } }, { key, headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } })
  t.notOk(called.json.error, 'no -32042 for a revision without URL elicitation')
  t.equal(called.json.result.isError, true)
  t.match(called.json.result.content[0].text, '/oauth/consent?request=')
})
