// The live debug console across replicas: two gateways on one Postgres, fanned out through a real
// Redis (Debian's redis-server, started here; the test fails if it is missing). A call on replica
// A reaches a subscriber on replica B exactly once; with subscribers on both, each gets each event
// once (a replica's own frames coming back from Redis are dropped); no subscriber anywhere, or the
// last one gone, means no call is traced; Redis down means calls go on, local subscribers keep
// their own replica's events and one warning is logged, without payloads; Redis back, fan-out
// resumes.
import t from 'tap'
import type { SseEvent } from '../helpers/sse.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { callEvents, finishedCalls, openDebug, type DebugReader } from '../helpers/debug.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { startTestRedis } from '../helpers/redis.ts'

useTestCluster(t)

const ARGUMENT = 'fanout-argument-3b7c1d'
const SECRET = 'fanout-secret-value-92e0'
const STAGES = ['mcp_request', 'upstream_request', 'upstream_response', 'result']

async function waitFor (what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Every event of the one call made since `from`, after a quiet period that would reveal duplicates. */
async function oneCall (reader: DebugReader, from: number): Promise<SseEvent[]> {
  await reader.readUntil(events => finishedCalls(events.slice(from)).length >= 1)
  await reader.drain(400)
  const fresh = reader.events.slice(from)
  const ids = finishedCalls(fresh)
  if (ids.length !== 1) throw new Error(`expected one finished call, got ${ids.length}`)
  return callEvents(fresh, ids[0]!)
}

t.test('fan-out across two replicas through Redis', async t => {
  const redis = await startTestRedis(t)
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const a = await startTestGateway(t, { REDIS_URL: redis.url })
  const b: TestGateway = await startTestGateway(t, { DATABASE_URL: a.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: a.settings.encryptionKeys!, REDIS_URL: redis.url })
  const applied = await a.applyConfig({
    variables: [{ name: 'TOKEN', kind: 'SECRET', value: SECRET }],
    providers: [{ name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${TOKEN}' } }],
    servers: [{ name: 'dbg', tools: [{ name: 'echo', provider: 'mock', method: 'POST', path: '/echo', input: { type: 'object', properties: { q: { type: 'string' } } } }] }]
  })
  t.equal(applied.status, 200)
  await waitFor('replica B has the config', () => b.gateway.registry.server('dbg') !== undefined)
  const key = await a.createKey({ endUser: 'fanout-user' })
  const onA = await a.connect('dbg', key)
  const onB = await b.connect('dbg', key)
  const call = (client: typeof onA) => client.callTool({ name: 'echo', arguments: { q: ARGUMENT } })

  await t.test('no subscriber on any replica: no call is traced anywhere', async t => {
    for (let i = 0; i < 3; i++) await Promise.all([call(onA), call(onB)])
    t.same([a.gateway.debug.stats.callsTraced, a.gateway.debug.stats.eventsBuilt, b.gateway.debug.stats.callsTraced, b.gateway.debug.stats.eventsBuilt], [0, 0, 0, 0])
  })

  await t.test('a call on replica A reaches a subscriber on replica B, exactly once', async t => {
    const onlyB = await openDebug(b.url, 'dbg')
    t.teardown(() => onlyB.close())
    t.equal(onlyB.ready.fanOut, 'redis')
    await waitFor('replica A knows of the subscriber on B', () => a.gateway.debug.hasSubscribers('dbg'))
    t.notOk(a.gateway.debug.subscriberCount('dbg'), 'it is not a local one')
    await call(onA)
    const events = await oneCall(onlyB, 1)
    t.same(events.map(e => e.event), STAGES, 'each stage once, in order')
    t.ok(events.every(e => e.json.replica === a.gateway.debug.replicaId), 'published by replica A')
    t.equal(b.gateway.debug.stats.callsTraced, 0, 'replica B traced nothing itself')
    t.notOk(onlyB.raw().includes(SECRET), 'the secret is redacted before it leaves replica A')
    t.ok(onlyB.raw().includes(ARGUMENT))
  })

  await t.test('subscribers on both replicas: each gets each event once, whichever replica served the call', async t => {
    const subA = await openDebug(a.url, 'dbg')
    const subB = await openDebug(b.url, 'dbg')
    t.teardown(() => Promise.all([subA.close(), subB.close()]))
    await waitFor('each replica knows of the other one\'s subscriber', () => a.gateway.debug.hasRemoteSubscribers('dbg') && b.gateway.debug.hasRemoteSubscribers('dbg'))
    for (const [name, client] of [['A', onA], ['B', onB]] as const) {
      const fromA = subA.events.length
      const fromB = subB.events.length
      await call(client)
      const seenA = await oneCall(subA, fromA)
      const seenB = await oneCall(subB, fromB)
      t.same(seenA.map(e => e.event), STAGES, `call on ${name}: the subscriber on A got each event once`)
      t.same(seenB.map(e => e.event), STAGES, `call on ${name}: the subscriber on B got each event once`)
      t.same(seenA.map(e => e.data), seenB.map(e => e.data), 'the same events')
    }
  })

  await t.test('the last subscriber leaves: the other replica stops tracing', async t => {
    await waitFor('replica A forgets the subscribers elsewhere', () => !a.gateway.debug.hasSubscribers('dbg') && !b.gateway.debug.hasSubscribers('dbg'), 5000)
    const tracedA = a.gateway.debug.stats.callsTraced
    const tracedB = b.gateway.debug.stats.callsTraced
    await Promise.all([call(onA), call(onB)])
    t.same([a.gateway.debug.stats.callsTraced, b.gateway.debug.stats.callsTraced], [tracedA, tracedB])
  })

  await t.test('Redis down: calls go on, local delivery goes on, one warning without payloads; then back', async t => {
    const subA = await openDebug(a.url, 'dbg')
    const subB = await openDebug(b.url, 'dbg')
    t.teardown(() => Promise.all([subA.close(), subB.close()]))
    await waitFor('fan-out up', () => a.gateway.debug.hasRemoteSubscribers('dbg'))
    await redis.stop()
    await waitFor('replica A notices', () => !a.gateway.debug.hasRemoteSubscribers('dbg'), 5000)
    const fromA = subA.events.length
    const fromB = subB.events.length
    for (let i = 0; i < 3; i++) {
      const result = await call(onA)
      t.notOk(result.isError, 'the call succeeds')
    }
    await subA.readUntil(events => finishedCalls(events.slice(fromA)).length >= 3)
    t.equal(finishedCalls(subA.events.slice(fromA)).length, 3, "replica A's subscriber keeps getting A's calls")
    await subB.drain(300)
    t.equal(finishedCalls(subB.events.slice(fromB)).length, 0, "replica B's does not (no Redis)")
    const warnings = a.logs.filter(line => line.includes('debug fan-out: Redis unavailable'))
    t.equal(warnings.length, 1, 'one warning')
    t.notOk(warnings[0]!.includes(ARGUMENT) || warnings[0]!.includes(SECRET), 'without payloads')
    t.notOk(a.logs.join('').includes(ARGUMENT), 'no payload in any log line')

    await redis.start()
    await waitFor('fan-out back', () => a.gateway.debug.hasRemoteSubscribers('dbg') && b.gateway.debug.hasRemoteSubscribers('dbg'), 10_000)
    const again = subB.events.length
    await call(onA)
    t.same((await oneCall(subB, again)).map(e => e.event), STAGES, 'a call on A reaches B again')
    t.ok(a.logs.some(line => line.includes('debug fan-out: Redis connected again')))
  })
})
