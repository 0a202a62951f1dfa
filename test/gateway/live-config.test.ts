// Config changes reach MCP clients at once: on the gateway that applied them before the PUT
// returns, and on every other replica sharing the database through LISTEN/NOTIFY.
import t from 'tap'
import { sql } from 'kysely'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { applyDocument, CONFIG_CHANNEL } from '../../src/config/store.ts'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

/** Polls `read` until it returns `expected` (JSON-equal) or the deadline passes; returns the last value. */
async function eventually<T> (read: () => Promise<T>, expected: T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = await read()
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 25))
    last = await read()
  }
  return last
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map(tool => tool.name)

t.test('an apply on one replica reaches clients of both', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const first = await startTestGateway(t)
  const second = await startTestGateway(t, { DATABASE_URL: first.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: first.settings.encryptionKeys! })
  t.equal(second.gateway.workspaceId, first.gateway.workspaceId, 'both replicas serve the same workspace')

  const tool = (name: string) => ({ name, provider: 'mock', method: 'GET', path: `/users/${name}` })
  const document = (...names: string[]) => ({
    variables: [{ name: 'TOKEN', kind: 'SECRET', value: 'shared-secret' }],
    providers: [{ name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${TOKEN}' } }],
    servers: [{ name: 'demo', tools: names.map(tool) }]
  })
  t.equal((await first.applyConfig(document('alpha'))).status, 200)

  const key = await first.createKey()
  const one = await first.connect('demo', key)
  const two = await second.connect('demo', key) // keys live in the shared database
  t.same(await toolNames(one), ['alpha'], 'the applying replica serves the new tools when PUT returns')
  t.same(await eventually(() => toolNames(two), ['alpha']), ['alpha'], 'the other replica picks them up')

  // The other way round, with an edit through the REST resources.
  t.equal((await second.admin('POST', '/servers/demo/tools', tool('beta'))).status, 201)
  t.same(await toolNames(two), ['alpha', 'beta'], 'the editing replica is current when the edit returns')
  t.same(await eventually(() => toolNames(one), ['alpha', 'beta']), ['alpha', 'beta'], 'the first replica follows')

  // Secrets resolve on the replica that did not apply them (same key ring).
  const result = await two.callTool({ name: 'alpha', arguments: {} })
  t.notOk(result.isError)
  t.equal(upstream.requests.at(-1)!.headers.authorization, 'Bearer shared-secret')

  // A writer with no gateway at all (what `toolgate apply` does) reaches both.
  const { db } = openTestDb(first.databaseUrl)
  t.teardown(() => db.destroy())
  const keyRing = KeyRing.parse(first.settings.encryptionKeys!)
  const defaults = { timeoutMs: 1000, maxResponseBytes: 1000 }
  await applyDocument(db, keyRing, first.gateway.workspaceId, document('gamma'), { actor: 'test', defaults })
  t.same(await eventually(() => toolNames(one), ['gamma']), ['gamma'], 'replica one sees an outside apply')
  t.same(await eventually(() => toolNames(two), ['gamma']), ['gamma'], 'replica two sees an outside apply')
  t.equal(first.gateway.registry.version, second.gateway.registry.version, 'both at the same config version')

  // A bad apply on one replica changes nothing anywhere.
  const refused = await second.applyConfig({ servers: [{ name: 'demo', tools: [tool('delta')] }] })
  t.equal(refused.status, 400)
  t.same(await toolNames(one), ['gamma'])
  t.same(await toolNames(two), ['gamma'])

  // Notifications sent while a replica's listener is down are not lost: it reloads on reconnect.
  // Each replica also listens for session terminations; only the config listeners are cut here.
  const { rows } = await sql<{ terminated: boolean }>`
    select pg_terminate_backend(pid) as terminated from pg_stat_activity
    where datname = current_database() and query = ${`LISTEN "${CONFIG_CHANNEL}"`}`.execute(db)
  t.equal(rows.length, 2, 'both config listeners were found and cut')
  await applyDocument(db, keyRing, first.gateway.workspaceId, document('gamma', 'omega'), { actor: 'test', defaults })
  t.same(await eventually(() => toolNames(one), ['gamma', 'omega']), ['gamma', 'omega'], 'replica one catches up after reconnecting')
  t.same(await eventually(() => toolNames(two), ['gamma', 'omega']), ['gamma', 'omega'], 'replica two catches up after reconnecting')
})
