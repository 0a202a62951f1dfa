// SECRET variables are sealed at rest: the variables table holds no plaintext in any column, the
// key id is stored beside the ciphertext, and the row identity is bound as associated data so a
// ciphertext copied to another row does not open.
import t from 'tap'
import { sql } from 'kysely'
import { applyDocument, loadCompiledConfig, variableAad } from '../../src/config/store.ts'
import { KeyRing, KeyRingError } from '../../src/crypto/keyring.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const SECRET = 'at-rest-secret-4e2a71c9'
const OTHER_SECRET = 'at-rest-other-0b55d3'

/** Every textual form a plaintext could take in a row: raw bytes, text, hex, base64. */
function containsPlaintext (value: unknown, plaintext: string): boolean {
  const needle = Buffer.from(plaintext, 'utf8')
  if (Buffer.isBuffer(value)) {
    return value.includes(needle) || value.toString('latin1').includes(needle.toString('hex')) || value.toString('latin1').includes(needle.toString('base64'))
  }
  const text = value instanceof Date ? value.toISOString() : JSON.stringify(value) ?? ''
  return text.includes(plaintext) || text.includes(needle.toString('hex')) || text.includes(needle.toString('base64'))
}

t.test('secret variables are sealed, key id stored, bound to their row', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const workspaceId = gw.gateway.workspaceId
  const applied = await gw.applyConfig({
    variables: [
      { name: 'PUBLIC', kind: 'ENV', value: 'plain-env-value' },
      { name: 'TOKEN', kind: 'SECRET', value: SECRET },
      { name: 'SAME', kind: 'SECRET', value: SECRET },
      { name: 'OTHER', kind: 'SECRET', value: OTHER_SECRET }
    ],
    providers: [{ name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${TOKEN}', 'X-Other': '${OTHER}' } }],
    servers: [{ name: 'demo', tools: [{ name: 'echo', provider: 'mock', method: 'GET', path: '/echo' }] }]
  })
  t.equal(applied.status, 200)

  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  // Every column, raw (select *), so a column added later is searched too.
  const { rows } = await sql<Record<string, unknown>>`select * from variables order by position`.execute(db)
  t.equal(rows.length, 4)
  for (const row of rows) {
    for (const [column, value] of Object.entries(row)) {
      t.notOk(containsPlaintext(value, SECRET), `variables.${column} of ${row.name} holds no plaintext of TOKEN`)
      t.notOk(containsPlaintext(value, OTHER_SECRET), `variables.${column} of ${row.name} holds no plaintext of OTHER`)
    }
  }
  const byName = new Map(rows.map(row => [row.name as string, row]))
  const env = byName.get('PUBLIC')!
  t.equal(env.value, 'plain-env-value', 'ENV values are stored as they are')
  t.equal(env.sealed_value, null)

  const token = byName.get('TOKEN')!
  t.equal(token.value, null, 'a SECRET has no plaintext value column')
  t.equal(token.key_id, 'test1', 'the sealing key id is stored beside the ciphertext')
  const sealed = token.sealed_value as Buffer
  t.ok(Buffer.isBuffer(sealed))
  t.equal(sealed.length, 12 + Buffer.byteLength(SECRET) + 16, 'nonce || ciphertext || tag')
  t.not(sealed.toString('hex'), (byName.get('SAME')!.sealed_value as Buffer).toString('hex'), 'the same secret sealed twice differs (random nonce)')

  const keyRing = KeyRing.parse(gw.settings.encryptionKeys!)
  t.equal(keyRing.openText({ keyId: 'test1', data: sealed }, variableAad(workspaceId, 'TOKEN')), SECRET, 'opens under its own row identity')
  t.throws(() => keyRing.open({ keyId: 'test1', data: sealed }, variableAad(workspaceId, 'OTHER')), KeyRingError, 'does not open as another variable')
  t.throws(() => keyRing.open({ keyId: 'test1', data: sealed }, variableAad('00000000-0000-0000-0000-000000000000', 'TOKEN')), KeyRingError, 'does not open in another workspace')
  t.throws(() => KeyRing.parse(KeyRing.generateSpec('test1')).open({ keyId: 'test1', data: sealed }, variableAad(workspaceId, 'TOKEN')), KeyRingError, 'does not open with another key')

  // Copy TOKEN's ciphertext into OTHER's row: loading the config must refuse it, not use it.
  await db.updateTable('variables').set({ sealed_value: sealed, key_id: 'test1' })
    .where('workspace_id', '=', workspaceId).where('name', '=', 'OTHER').execute()
  const defaults = { timeoutMs: 1000, maxResponseBytes: 1000 }
  await t.rejects(loadCompiledConfig(db, keyRing, workspaceId, defaults), KeyRingError, 'a ciphertext moved to another row fails to open')
  await db.updateTable('variables').set({ sealed_value: byName.get('OTHER')!.sealed_value as Buffer })
    .where('workspace_id', '=', workspaceId).where('name', '=', 'OTHER').execute()
  const compiled = await loadCompiledConfig(db, keyRing, workspaceId, defaults)
  t.equal(compiled.servers.get('demo')!.tools.get('echo')!.staticHeaders.authorization, `Bearer ${SECRET}`, 'restored, it opens again')
})

t.test('keys rotate online: old rows open with the old key, new values seal with the new one', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const first = await startTestGateway(t)
  const document = {
    variables: [{ name: 'TOKEN', kind: 'SECRET', value: SECRET }],
    providers: [{ name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${TOKEN}' } }],
    servers: [{ name: 'demo', tools: [{ name: 'echo', provider: 'mock', method: 'GET', path: '/echo' }] }]
  }
  t.equal((await first.applyConfig(document)).status, 200)
  await first.stop()

  // New active key first, the old one kept for reading.
  const rotated = `${KeyRing.generateSpec('test2')},${first.settings.encryptionKeys!}`
  const second = await startTestGateway(t, { DATABASE_URL: first.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: rotated })
  const client = await second.connect('demo', await second.createKey())
  const result = await client.callTool({ name: 'echo', arguments: {} })
  t.notOk(result.isError)
  t.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${SECRET}`, 'a row sealed with the old key still opens')

  const { db } = openTestDb(first.databaseUrl)
  t.teardown(() => db.destroy())
  const keyIdOf = async () => (await db.selectFrom('variables').select('key_id').where('name', '=', 'TOKEN').executeTakeFirstOrThrow()).key_id
  t.equal(await keyIdOf(), 'test1')
  const { value: _dropped, ...withoutValue } = document.variables[0]!
  t.equal((await second.applyConfig({ ...document, variables: [withoutValue] })).status, 200)
  t.equal(await keyIdOf(), 'test1', 'a kept secret keeps its sealed value and key id')
  t.equal((await second.applyConfig({ ...document, variables: [{ ...withoutValue, value: 'fresh-secret' }] })).status, 200)
  t.equal(await keyIdOf(), 'test2', 'a new value is sealed with the active key')

  // Keeping a secret whose key is no longer in the ring is a clear, located error (not a 500).
  const withoutOldKey = KeyRing.generateSpec('test3')
  await t.rejects(
    applyDocument(db, KeyRing.parse(withoutOldKey), second.gateway.workspaceId, { ...document, variables: [withoutValue] }, { actor: 'test', defaults: { timeoutMs: 1000, maxResponseBytes: 1000 } }),
    { code: 'TG_ERR_CONFIG_INVALID', problems: [{ path: 'variables[0].value', message: /^the stored secret cannot be opened \(no key "test2" in the key ring/ }] }
  )
  t.equal(await keyIdOf(), 'test2', 'nothing changed')
})
