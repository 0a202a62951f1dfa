// A provider's `oauth` block in the config document: what is refused (with the path), and the
// client secret's write-only life — sealed at rest, never exported or returned by the REST API,
// kept when a re-applied export leaves it out, dropped when the client becomes public.
import t from 'tap'
import { applyDocument, loadCompiledConfig, providerSecretAad, readDocument } from '../../src/config/store.ts'
import { validateDocument } from '../../src/config/validate.ts'
import { KeyRingError } from '../../src/crypto/keyring.ts'
import { ConfigInvalidError } from '../../src/errors.ts'
import { dumpDatabase, encodings } from '../helpers/dump.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const CLIENT_SECRET = 'oauth-client-secret-5f1c2e'
const defaults = { timeoutMs: 1000, maxResponseBytes: 1024 }

function doc (oauth: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    variables: [{ name: 'GH_SECRET', kind: 'SECRET', value: 'from-variable' }, { name: 'PLAIN', kind: 'ENV', value: 'x' }],
    providers: [{ name: 'gh', baseUrl: 'https://api.example.com', ...extra, oauth: { clientId: 'client', ...oauth } }],
    servers: [{ name: 's', tools: [{ name: 'me', provider: 'gh', method: 'GET', path: '/me', scopes: ['read:user'] }] }]
  }
}

function problems (input: unknown): Array<{ path: string, message: string }> {
  try {
    validateDocument(input)
    return []
  } catch (err) {
    if (!(err instanceof ConfigInvalidError)) throw err
    return err.problems
  }
}

t.test('refused with the path of the bad field', async t => {
  const at = (input: unknown) => problems(input).map(p => `${p.path}: ${p.message}`)
  t.match(at(doc({})), [/providers\[0\]\.oauth: needs an issuer .* or both authorizationUrl and tokenUrl/])
  t.match(at(doc({ authorizationUrl: 'http://idp.example.com/auth', tokenUrl: 'https://idp.example.com/token' })), [/providers\[0\]\.oauth\.authorizationUrl: must be an https URL \(http is allowed on loopback addresses only\)/])
  t.same(at(doc({ issuer: 'http://127.0.0.1:9/' })), [], 'http on loopback is allowed')
  t.match(at(doc({ issuer: 'https://idp.example.com', clientSecret: '${PLAIN}' })), [/oauth\.clientSecret: \$\{PLAIN\} is an ENV variable/])
  t.match(at(doc({ issuer: 'https://idp.example.com', clientSecret: '${NOPE}' })), [/oauth\.clientSecret: unknown variable \$\{NOPE\}/])
  t.match(at(doc({ issuer: 'https://idp.example.com', clientSecret: 'pre-${GH_SECRET}' })), [/oauth\.clientSecret: must be a literal or exactly one \$\{NAME\} reference/])
  t.match(at(doc({ issuer: 'https://idp.example.com', clientSecret: 's', clientAuthMethod: 'none' })), [/oauth\.clientSecret: a public client .* has no secret/])
  t.match(at(doc({ issuer: 'https://idp.example.com', inject: { header: 'X-Token', query: 'token' } })), [/oauth\.inject: the token goes in a header .* or a query parameter/])
  t.match(at(doc({ issuer: 'https://idp.example.com' }, { headers: { Authorization: 'Bearer x' } })), [/providers\[0\]\.headers: an OAuth provider injects each end user's token as Authorization/])
  t.match(at(doc({ issuer: 'https://idp.example.com', scopes: ['has space'] })), [/providers\[0\]\.oauth\.scopes\[0\]: must match pattern/])
  t.match(at(doc({ issuer: 'https://idp.example.com', clientId: '${MISSING}' })), [/oauth\.clientId: unknown variable/])
})

t.test('the client secret is sealed, write-only, and kept across a re-applied export', async t => {
  const gw = await startTestGateway(t)
  const workspaceId = gw.gateway.workspaceId
  const keyRing = gw.gateway.keyRing
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())

  const applied = await gw.applyConfig(doc({ issuer: 'https://idp.example.com', clientSecret: CLIENT_SECRET, scopes: ['openid'], inject: { header: 'X-Token' } }))
  t.equal(applied.status, 200, await applied.text())
  const all = [...(await dumpDatabase(db)).values()].join('\n')
  for (const form of encodings(CLIENT_SECRET)) t.notOk(all.includes(form), 'no plaintext client secret in any table')
  const row = await db.selectFrom('providers').select(['oauth_client_secret', 'oauth_client_secret_key_id', 'oauth']).executeTakeFirstOrThrow()
  t.equal(row.oauth_client_secret_key_id, keyRing.activeKeyId, 'key id beside the ciphertext')
  t.equal(keyRing.openText({ keyId: row.oauth_client_secret_key_id!, data: row.oauth_client_secret! }, providerSecretAad(workspaceId, 'gh')), CLIENT_SECRET)
  t.throws(() => keyRing.openText({ keyId: row.oauth_client_secret_key_id!, data: row.oauth_client_secret! }, providerSecretAad(workspaceId, 'other')), KeyRingError, 'bound to its provider')

  const exported = await (await gw.admin('GET', '/config')).json() as { document: { providers: Array<{ oauth: Record<string, unknown> }> } }
  const oauth = (exported.document ?? exported as unknown as { providers: Array<{ oauth: Record<string, unknown> }> }).providers[0]!.oauth
  t.notOk('clientSecret' in oauth, 'never exported')
  t.same(oauth.inject, { header: 'X-Token' })
  const rest = await (await gw.admin('GET', '/providers/gh')).text()
  t.notOk(rest.includes(CLIENT_SECRET), 'never returned by the REST API')

  // Re-applying the export (no secret) keeps the stored one.
  const { document } = await readDocument(db, workspaceId)
  await applyDocument(db, keyRing, workspaceId, document, { actor: 'test', defaults })
  let compiled = await loadCompiledConfig(db, keyRing, workspaceId, defaults)
  t.equal(compiled.oauthProviders.get('gh')?.clientSecret, CLIENT_SECRET, 'kept')
  t.equal(compiled.oauthProviders.get('gh')?.clientAuthMethod, 'client_secret_basic')
  t.same(compiled.oauthProviders.get('gh')?.inject, { header: 'x-token' })
  t.same(compiled.servers.get('s')?.tools.get('me')?.scopes, ['read:user'])

  // A reference is stored and exported as the reference.
  await applyDocument(db, keyRing, workspaceId, doc({ issuer: 'https://idp.example.com', clientSecret: '${GH_SECRET}' }), { actor: 'test', defaults })
  t.equal((await readDocument(db, workspaceId)).document.providers![0]!.oauth!.clientSecret, '${GH_SECRET}')
  compiled = await loadCompiledConfig(db, keyRing, workspaceId, defaults)
  t.equal(compiled.oauthProviders.get('gh')?.clientSecret, 'from-variable')
  t.equal((await db.selectFrom('providers').select('oauth_client_secret').executeTakeFirstOrThrow()).oauth_client_secret, null, 'nothing sealed for a reference')

  // A public client has no secret; asking for secret auth without one is refused at apply.
  await applyDocument(db, keyRing, workspaceId, doc({ issuer: 'https://idp.example.com', clientAuthMethod: 'none' }), { actor: 'test', defaults })
  compiled = await loadCompiledConfig(db, keyRing, workspaceId, defaults)
  t.equal(compiled.oauthProviders.get('gh')?.clientSecret, undefined)
  const refused = await applyDocument(db, keyRing, workspaceId, doc({ issuer: 'https://idp.example.com', clientAuthMethod: 'client_secret_post' }), { actor: 'test', defaults })
    .then(() => undefined, (err: unknown) => err)
  t.ok(refused instanceof ConfigInvalidError, 'refused')
  t.match((refused as ConfigInvalidError).problems, [{ path: 'providers[0].oauth.clientSecret', message: /is required for clientAuthMethod "client_secret_post"/ }])
})
