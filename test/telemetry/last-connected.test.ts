// servers.last_connected_at of api servers: written when an MCP client reaches the server, at most
// once per interval per process, and skipped by the UPDATE when another replica wrote within the
// interval; remote-mcp/stdio rows (the upstream session's own time) are not touched.
import t from 'tap'
import type { Db } from '../../src/db/index.ts'
import { LastConnected } from '../../src/telemetry/last-connected.ts'
import { createLogger } from '../../src/telemetry/logger.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

t.test('bounded writes, on a real Postgres', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { TOOLGATE_USAGE_FLUSH_MS: '0' })
  t.equal((await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{ name: 'shop', tools: [] }, { name: 'remote', kind: 'remote-mcp', url: `${upstream.url}/mcp` }]
  })).status, 200)
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const at = async (name: string) => (await db.selectFrom('servers').select('last_connected_at').where('name', '=', name).executeTakeFirstOrThrow()).last_connected_at?.toISOString() ?? null
  let now = Date.parse('2026-03-01T12:00:00Z')
  const logger = createLogger('silent')
  // Counts the UPDATEs replica A sends (the interval bounds statements, not only the stored value).
  let updates = 0
  const counting = new Proxy(db, {
    get (target, prop) {
      if (prop === 'updateTable') updates++
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const replicaA = new LastConnected({ db: counting as Db, workspaceId: gw.gateway.workspaceId, intervalMs: 60_000, logger, clock: () => now })
  const replicaB = new LastConnected({ db: db as Db, workspaceId: gw.gateway.workspaceId, intervalMs: 60_000, logger, clock: () => now })

  replicaA.touch('shop')
  await replicaA.settle()
  t.equal(await at('shop'), '2026-03-01T12:00:00.000Z', 'first touch writes')
  now += 30_000
  for (let i = 0; i < 50; i++) replicaA.touch('shop')
  await replicaA.settle()
  t.equal(await at('shop'), '2026-03-01T12:00:00.000Z', 'within the interval: no write')
  t.equal(updates, 1, '51 touches, one UPDATE statement')
  replicaB.touch('shop')
  await replicaB.settle()
  t.equal(await at('shop'), '2026-03-01T12:00:00.000Z', 'another replica within the interval: the UPDATE skips the row')
  now += 31_000
  replicaA.touch('shop')
  await replicaA.settle()
  t.equal(await at('shop'), '2026-03-01T12:01:01.000Z', 'after the interval: written again')

  const remoteBefore = await at('remote')
  replicaA.touch('remote')
  await replicaA.settle()
  t.equal(await at('remote'), remoteBefore, 'a remote-mcp row keeps its own meaning')
})

t.test('through the gateway: an MCP client reaching an api server', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{ name: 'shop', tools: [{ name: 'get', provider: 'mock', method: 'GET', path: '/users/1' }] }, { name: 'idle', tools: [] }]
  })).status, 200)
  const view = async (name: string) => await (await gw.admin('GET', `/servers/${name}`)).json() as { lastConnectedAt: string | null }
  t.equal((await view('shop')).lastConnectedAt, null, 'never reached')
  const before = Date.now()
  const client = await gw.connect('shop', await gw.createKey())
  await client.callTool({ name: 'get', arguments: {} })
  await gw.gateway.lastConnected.settle()
  const seen = (await view('shop')).lastConnectedAt
  t.ok(seen && Date.parse(seen) >= before - 1000 && Date.parse(seen) <= Date.now(), `recorded (${seen})`)
  t.equal((await view('idle')).lastConnectedAt, null, 'another server is not touched')
  // A GET back and a PUT of that view round-trip (lastConnectedAt is state, not config).
  const list = await (await gw.admin('GET', '/servers')).json() as Array<{ name: string, lastConnectedAt: string | null }>
  t.match(list, [{ name: 'shop', lastConnectedAt: seen }, { name: 'idle', lastConnectedAt: null }])
  // An apply keeps it.
  t.equal((await gw.applyConfig({ providers: [{ name: 'mock', baseUrl: upstream.url }], servers: [{ name: 'shop', title: 'Shop', tools: [] }, { name: 'idle', tools: [] }] })).status, 200)
  t.equal((await view('shop')).lastConnectedAt, seen, 'kept across applies')
  // An unknown server name writes nothing and keeps nothing in memory.
  const key = await gw.createKey({ endUser: 'eve' })
  const unknown = await fetch(`${gw.url}/mcp/nope`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' })
  t.equal(unknown.status, 404)
})
