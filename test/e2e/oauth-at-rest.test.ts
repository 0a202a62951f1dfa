// Credentials at rest after real consent flows: no plaintext access token, refresh token or client
// secret anywhere in the database; a ciphertext moved to another row does not open; and after
// `toolgate keys rotate` and removing the old key, every user's calls (and refreshes) still work.
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { KeyRing, KeyRingError } from '../../src/crypto/keyring.ts'
import { TokenVault } from '../../src/oauth/vault.ts'
import { startMockGitHub, startMockGoogle, type MockGitHub, type MockGoogle } from '../fixtures/oauth/index.ts'
import { runCli } from '../helpers/cli.ts'
import { dumpDatabase, encodings } from '../helpers/dump.ts'
import { ADMIN_TOKEN, openTestDb, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { completeConsent, linkIn, oauthConfig, startOAuthGateway } from '../helpers/oauth.ts'

useTestCluster(t)
t.setTimeout(180_000)

const OLD = KeyRing.generateSpec('old')
const NEW = KeyRing.generateSpec('new')

let google: MockGoogle
let github: MockGitHub
let handle: ReturnType<typeof openTestDb>

t.before(async () => {
  google = await startMockGoogle()
  github = await startMockGitHub()
})
t.teardown(async () => {
  await handle?.db.destroy()
  await google?.close()
  await github?.close()
})

async function call (gw: TestGateway, key: string, tool: string) {
  const client = new Client({ name: 'at-rest', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp/work`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
  try {
    return await client.callTool({ name: tool, arguments: {} })
  } finally {
    await client.close()
  }
}
const text = (result: Awaited<ReturnType<Client['callTool']>>) => (result.content as Array<{ text: string }>)[0]!.text

async function registerRedirect (gw: TestGateway) {
  google.redirectUris = [`${gw.settings.publicUrl}/oauth/callback`]
  github.redirectUris = [`${gw.settings.publicUrl}/oauth/callback`]
}

t.test('after consent flows, refreshes and key rotation nothing secret is readable in the database', async t => {
  let gw = await startOAuthGateway(t, { TOOLGATE_ENCRYPTION_KEYS: OLD })
  await registerRedirect(gw)
  t.equal((await gw.applyConfig(oauthConfig(google, github))).status, 200)
  handle = openTestDb(gw.databaseUrl)
  const db = handle.db
  const keys = { alice: await gw.createKey({ endUser: 'alice' }), bob: await gw.createKey({ endUser: 'bob' }) }
  for (const [user, key] of Object.entries(keys)) {
    for (const tool of ['google_whoami', 'github_whoami']) {
      const consent = await completeConsent(linkIn(text(await call(gw, key, tool))), user)
      t.equal(consent.status, 200, `${user} connected ${tool}`)
      t.notOk((await call(gw, key, tool)).isError)
    }
  }
  // One refresh, so a rotated refresh token is among what must not be readable.
  await db.updateTable('oauth_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('provider', '=', 'google').execute()
  t.notOk((await call(gw, keys.alice, 'google_whoami')).isError)

  const issued = [
    ...['alice', 'bob'].flatMap(user => [...google.accessTokensOf(user), ...github.accessTokensOf(user)]),
    ...google.tokenRequests.map(r => r.params.refresh_token).filter((v): v is string => v !== undefined)
  ]
  t.ok(issued.length >= 6, `checking ${issued.length} issued tokens`)
  const secrets = { googleClientSecret: google.clientSecret, githubClientSecret: github.clientSecret }
  const checkDump = async (when: string) => {
    const dump = await dumpDatabase(db)
    const all = [...dump.values()].join('\n')
    for (const token of issued) for (const form of encodings(token)) t.notOk(all.includes(form), `${when}: no issued token in the database`)
    for (const [name, value] of Object.entries(secrets)) for (const form of encodings(value)) t.notOk(all.includes(form), `${when}: no ${name} in the database`)
    t.notOk(/ya29\.|gho_|1\/\/[A-Za-z0-9_-]{20}/.test(all), `${when}: nothing token-shaped in clear`)
    return dump
  }
  await checkDump('before rotation')
  const stored = await db.selectFrom('oauth_tokens').select(['key_id']).execute()
  t.ok(stored.length === 4 && stored.every(row => row.key_id === 'old'), 'four token rows, sealed with the old key')

  // A ciphertext copied onto another user's row does not open there.
  const vault = new TokenVault(db, KeyRing.parse(OLD), gw.gateway.workspaceId)
  const [alice, bob] = await Promise.all(['alice', 'bob'].map(user => db.selectFrom('end_users').select('id').where('external_id', '=', user).executeTakeFirstOrThrow()))
  const aliceRow = await db.selectFrom('oauth_tokens').select(['access_token']).where('end_user_id', '=', alice!.id).where('provider', '=', 'github').executeTakeFirstOrThrow()
  const bobRow = await db.selectFrom('oauth_tokens').select(['access_token']).where('end_user_id', '=', bob!.id).where('provider', '=', 'github').executeTakeFirstOrThrow()
  await db.updateTable('oauth_tokens').set({ access_token: aliceRow.access_token }).where('end_user_id', '=', bob!.id).where('provider', '=', 'github').execute()
  await t.rejects(vault.read(bob!.id, 'github'), KeyRingError, 'alice\'s sealed token does not open as bob\'s')
  await db.updateTable('oauth_tokens').set({ access_token: bobRow.access_token }).where('end_user_id', '=', bob!.id).where('provider', '=', 'github').execute()

  // Rotate: the new key first, the old one still there to open; then the old one goes.
  const rotated = await runCli(['keys', 'rotate', '--batch-size', '2'], { DATABASE_URL: gw.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: `${NEW},${OLD}`, TOOLGATE_DATA_DIR: gw.settings.dataDir })
  t.equal(rotated.code, 0, rotated.stderr)
  t.match(rotated.stdout, 'Re-sealed under key new: 1 secret variables, 1 OAuth client secrets, 4 OAuth token rows')
  t.match(rotated.stdout, 'Nothing is sealed with old any more')
  await gw.stop()
  gw = await startOAuthGateway(t, { DATABASE_URL: gw.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: NEW, TOOLGATE_ADMIN_TOKEN: ADMIN_TOKEN })
  await registerRedirect(gw)
  for (const [user, key] of Object.entries(keys)) {
    for (const tool of ['google_whoami', 'github_whoami']) {
      const result = await call(gw, key, tool)
      t.notOk(result.isError, `${user} ${tool} after rotation: ${text(result)}`)
    }
  }
  await db.updateTable('oauth_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('provider', '=', 'google').execute()
  const before = google.refreshCount()
  t.notOk((await call(gw, keys.bob, 'google_whoami')).isError, 'a refresh after rotation works (the refresh token re-sealed)')
  t.equal(google.refreshCount() - before, 1)
  const after = await db.selectFrom('oauth_tokens').select(['key_id']).execute()
  t.ok(after.every(row => row.key_id === 'new'), 'every token row under the new key')
  const dump = await checkDump('after rotation')
  t.match(dump.get('audit_log'), 'keys.rotate', 'the rotation is audited')
})
