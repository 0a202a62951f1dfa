// Usage telemetry: the histogram's percentiles; the recorder against a real Postgres (upserts add,
// distinct users per hour across flushes, a failed flush keeps its counts, day buckets sum hours);
// and end to end through a real gateway: N known calls → exactly N in GET /api/v1/usage with the
// right errors by kind, byte totals measured at the mock, the interceptor's savings, distinct end
// users, billing; the counts survive a graceful restart; no payload in the usage tables.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { sql } from 'kysely'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Db } from '../../src/db/index.ts'
import { bucketIndex, BUCKET_COUNT, LATENCY_BOUNDS_MS, percentile, readUsage, UsageRecorder } from '../../src/telemetry/usage.ts'
import { startFixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { freshDatabase } from '../helpers/database.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const CANARY = 'usage-canary-7c3e91b0'

t.test('histogram percentiles', async t => {
  t.equal(bucketIndex(0), 0)
  t.equal(bucketIndex(1), 0)
  t.equal(bucketIndex(1.01), 1)
  t.equal(bucketIndex(100), 6)
  t.equal(bucketIndex(60_000), LATENCY_BOUNDS_MS.length - 1)
  t.equal(bucketIndex(1e9), LATENCY_BOUNDS_MS.length)
  const buckets = new Array<number>(BUCKET_COUNT).fill(0)
  t.equal(percentile(buckets, 0.5), null, 'empty histogram: no percentile')
  buckets[0] = 50 // (0, 1] ms
  buckets[6] = 45 // (50, 100] ms
  buckets[9] = 5 // (500, 1000] ms
  t.equal(percentile(buckets, 0.5), 1, 'p50: the top of the first bucket')
  t.equal(percentile(buckets, 0.25), 0.5, 'interpolated inside a bucket')
  t.equal(percentile(buckets, 0.95), 100)
  t.equal(percentile(buckets, 0.99), 900, 'p99: 4 of 5 into (500, 1000]')
  const slow = new Array<number>(BUCKET_COUNT).fill(0)
  slow[BUCKET_COUNT - 1] = 3
  t.equal(percentile(slow, 0.99), 60_000, 'overflow bucket answers its lower bound')
})

t.test('recorder on a real Postgres', async t => {
  const db = openTestDb(await freshDatabase()).db as Db
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  const workspaceId = randomUUID()
  let now = Date.parse('2020-03-10T05:10:00Z')
  const usage = new UsageRecorder({ db, workspaceId, clock: () => now, flushMs: 0 })
  const call = (tool: string, user: string | null, totalMs: number, errorKind?: string) =>
    usage.record({ server: 's', tool, endUserId: user, errorKind, totalMs, upstreamMs: totalMs / 2, bytesFromUpstream: 100, bytesToClient: 40 })

  call('a', 'u1', 3)
  call('a', 'u1', 30, 'upstream_status')
  await usage.flush()
  t.equal(usage.pendingRows, 0)
  call('a', 'u1', 300) // same user, same hour, after a flush: still one user
  call('a', 'u2', 3000, 'timeout')
  await usage.flush()
  const [hour5] = await db.selectFrom('usage').selectAll().where('workspace_id', '=', workspaceId).execute()
  t.equal(Number(hour5!.calls), 4, 'upserts add calls')
  t.equal(Number(hour5!.errors), 2)
  t.same(hour5!.errors_by_kind, { upstream_status: 1, timeout: 1 }, 'error kinds merged')
  t.equal(hour5!.end_users, 2, 'u1 once, u2 once, across two flushes of the same hour')
  t.same(hour5!.latency_buckets.map(Number), [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0], 'histograms merged bucket by bucket: 3, 30, 300, 3000 ms')
  t.equal(hour5!.total_ms, 3333)
  t.equal(Number(hour5!.bytes_from_upstream), 400)
  t.equal(Number(hour5!.bytes_to_client), 160)

  // A failed flush keeps its counts (and its users) for the next try.
  now = Date.parse('2020-03-10T06:20:00Z')
  call('a', 'u1', 5)
  let failing = true
  const flaky = new Proxy(db, {
    get (target, prop) {
      if (prop === 'transaction' && failing) throw new Error('database down')
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const flakyUsage = new UsageRecorder({ db: flaky as Db, workspaceId, clock: () => now, flushMs: 0 })
  flakyUsage.record({ server: 's', tool: 'a', endUserId: 'u3', errorKind: undefined, totalMs: 5, upstreamMs: undefined, bytesFromUpstream: 10, bytesToClient: 10 })
  await t.rejects(flakyUsage.flush(), /database down/)
  t.equal(flakyUsage.pendingRows, 1, 'counts kept after a failed flush')
  flakyUsage.record({ server: 's', tool: 'a', endUserId: 'u3', errorKind: undefined, totalMs: 5, upstreamMs: undefined, bytesFromUpstream: 10, bytesToClient: 10 })
  failing = false
  await flakyUsage.flush()
  await usage.flush()

  const hours = await readUsage(db, workspaceId, { from: new Date('2020-03-10T00:00:00Z'), to: new Date('2020-03-11T00:00:00Z'), bucket: 'hour' })
  t.same(hours.map(h => [h.start.toISOString(), h.calls, h.endUsers]), [['2020-03-10T05:00:00.000Z', 4, 2], ['2020-03-10T06:00:00.000Z', 3, 2]])
  const [day] = await readUsage(db, workspaceId, { from: new Date('2020-03-10T00:00:00Z'), to: new Date('2020-03-11T00:00:00Z'), bucket: 'day' })
  t.equal(day!.start.toISOString(), '2020-03-10T00:00:00.000Z')
  t.equal(day!.calls, 7, 'the day sums its hours')
  t.equal(day!.errors, 2)
  t.equal(day!.bytesFromUpstream, 4 * 100 + 100 + 2 * 10)
  t.equal(day!.buckets.reduce((a, b) => a + b, 0), 7, 'day histogram holds every call')
  t.equal(day!.peakHourEndUsers, 2)
  t.equal(day!.endUsers, 4, 'user-hours')
  const billing = await db.selectFrom('billing_periods').selectAll().where('workspace_id', '=', workspaceId).execute()
  t.same(billing.map(b => [b.period, Number(b.calls)]), [['2020-03', 7]], 'billing: calls of the month')

  // A big batch (past one statement's bind-parameter limit) is written whole.
  const many = new UsageRecorder({ db, workspaceId: randomUUID(), clock: () => now, flushMs: 0 })
  for (let i = 0; i < 5000; i++) many.record({ server: 's', tool: `t${i}`, endUserId: null, errorKind: undefined, totalMs: 1, upstreamMs: undefined, bytesFromUpstream: 0, bytesToClient: 0 })
  await many.flush()
  const { count } = await db.selectFrom('usage').select(eb => eb.fn.countAll<string>().as('count')).where('tool', 'like', 't%').executeTakeFirstOrThrow()
  t.equal(Number(count), 5000, '5000 rows in one flush')
})

interface Series {
  start: string, server: string, tool: string, calls: number, errors: number, errorsByKind: Record<string, number>,
  latencyMs: { p50: number | null, p95: number | null, p99: number | null }, upstreamMs: number, totalMs: number,
  bytesFromUpstream: number, bytesToClient: number, savingsPercent: number | null, endUsers: number, upstreamCalls: number
}

t.test('end to end: known calls, restart, billing, no payload', async t => {
  const mock = await startMockUpstream()
  t.teardown(() => mock.close())
  // Sizes measured at the mock, by asking it the same URLs the gateway will.
  const size = async (path: string) => (await (await fetch(`${mock.url}${path}`)).arrayBuffer()).byteLength
  const userBytes = await size(`/users/${CANARY}`)
  const statusBytes = await size('/status/500')
  const document = {
    providers: [{ name: 'mock', baseUrl: mock.url }],
    servers: [{
      name: 'shop',
      tools: [
        { name: 'user', provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
        { name: 'status', provider: 'mock', method: 'GET', path: '/status/{code}', input: { type: 'object', properties: { code: { type: 'integer' } }, required: ['code'] } },
        {
          name: 'slim', provider: 'mock', method: 'GET', path: '/users/{id}',
          input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
          response: [{ js: '(input) => ({ id: input.id })' }]
        }
      ]
    }]
  }
  // No timer: only the shutdown flush can store these counts before the restart.
  const first = await startTestGateway(t, { TOOLGATE_USAGE_FLUSH_MS: '0' })
  t.equal((await first.applyConfig(document)).status, 200)
  const alice = await first.connect('shop', await first.createKey({ endUser: 'alice' }))
  const bob = await first.connect('shop', await first.createKey({ endUser: 'bob' }))
  const carol = await first.connect('shop', await first.createKey({ endUser: 'carol' }))

  const texts: string[] = []
  const call = async (client: typeof alice, name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args }) as { content: Array<{ text?: string }>, isError?: boolean }
    texts.push(result.content[0]?.text ?? '')
    return result
  }
  for (let i = 0; i < 3; i++) t.notOk((await call(alice, 'user', { id: CANARY })).isError)
  t.ok((await call(alice, 'user', { id: 42, note: CANARY })).isError, 'invalid arguments')
  for (let i = 0; i < 2; i++) t.ok((await call(bob, 'status', { code: 500 })).isError, 'upstream 500')
  for (const client of [alice, bob, carol]) t.notOk((await call(client, 'slim', { id: CANARY })).isError)
  t.ok(texts.some(text => text.includes(CANARY)), 'the canary went through the calls')
  const slimText = texts.at(-1)!
  const slimBytes = Buffer.byteLength(slimText)
  t.ok(slimBytes < userBytes, 'the interceptor shrinks the body')
  await first.stop()

  const second = await startTestGateway(t, { DATABASE_URL: first.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: first.settings.encryptionKeys!, TOOLGATE_USAGE_FLUSH_MS: '0' })
  const response = await second.admin('GET', '/usage?server=shop')
  t.equal(response.status, 200)
  const body = await response.json() as { bucket: string, series: Series[] }
  t.equal(body.bucket, 'hour')
  const byTool = new Map(body.series.map(row => [row.tool, row]))
  t.equal(body.series.reduce((n, row) => n + row.calls, 0), 9, 'exactly 9 calls, after a restart')
  const user = byTool.get('user')!
  t.equal(user.calls, 4)
  t.same(user.errorsByKind, { invalid_arguments: 1 })
  t.equal(user.bytesFromUpstream, 3 * userBytes, 'bytes measured at the mock')
  t.equal(user.bytesToClient, 3 * userBytes, 'no interceptor: what came is what went')
  t.equal(user.upstreamCalls, 3, 'invalid arguments never reached the upstream')
  t.equal(user.endUsers, 1)
  t.equal(user.savingsPercent, 0)
  const status = byTool.get('status')!
  t.equal(status.calls, 2)
  t.equal(status.errors, 2)
  t.same(status.errorsByKind, { upstream_status: 2 })
  t.equal(status.bytesFromUpstream, 2 * statusBytes)
  t.equal(status.endUsers, 1)
  const slim = byTool.get('slim')!
  t.equal(slim.calls, 3)
  t.equal(slim.errors, 0)
  t.equal(slim.bytesFromUpstream, 3 * userBytes)
  t.equal(slim.bytesToClient, 3 * slimBytes, 'bytes after the interceptor')
  t.equal(slim.savingsPercent, Math.round((1 - slimBytes / userBytes) * 10000) / 100, 'savings % = 1 − out / in')
  t.equal(slim.endUsers, 3, 'alice, bob and carol')
  for (const row of body.series) {
    t.ok(row.latencyMs.p50 !== null && row.latencyMs.p50 <= row.latencyMs.p95! && row.latencyMs.p95! <= row.latencyMs.p99!, `${row.tool}: ordered percentiles`)
    t.ok(row.upstreamMs <= row.totalMs, `${row.tool}: upstream time within total time`)
  }

  const day = await (await second.admin('GET', '/usage?bucket=day&tool=slim')).json() as { series: Series[] }
  t.same(day.series.map(row => [row.tool, row.calls, row.bytesToClient]), [['slim', 3, 3 * slimBytes]], 'day bucket, tool filter')

  const billing = await (await second.admin('GET', '/billing')).json() as { current: { calls: number } }
  t.equal(billing.current.calls, 9, 'billing: calls this month')

  // Bad queries: clear 400s.
  for (const [query, pattern] of [
    ['bucket=week', /bucket/], ['from=yesterday', /from/], ['colour=red', /colour|additional/],
    ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', /before/], ['from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', /days/]
  ] as const) {
    const bad = await second.admin('GET', `/usage?${query}`)
    t.equal(bad.status, 400, query)
    t.match((await bad.json() as { error: { message: string } }).error.message, pattern, query)
  }

  // Nothing of the payload in the usage tables.
  const { db } = openTestDb(first.databaseUrl)
  t.teardown(() => db.destroy())
  const dump = await sql<{ row: string }>`select row_to_json(u)::text as row from usage u union all select row_to_json(b)::text from billing_periods b`.execute(db)
  t.ok(dump.rows.length >= 4)
  const text = dump.rows.map(r => r.row).join('\n')
  t.notOk(text.includes(CANARY), 'no canary in usage or billing rows')
  t.notOk(text.includes(Buffer.from(CANARY).toString('base64')), 'nor its base64')
  t.notOk(/alice|bob|carol/.test(text), 'no end user names')
})

t.test('the timer flushes on its own', async t => {
  const mock = await startMockUpstream()
  t.teardown(() => mock.close())
  const gw = await startTestGateway(t, { TOOLGATE_USAGE_FLUSH_MS: '100' })
  await gw.applyConfig({ providers: [{ name: 'mock', baseUrl: mock.url }], servers: [{ name: 'api', tools: [{ name: 'text', provider: 'mock', method: 'GET', path: '/text' }] }] })
  const client = await gw.connect('api', await gw.createKey())
  await client.callTool({ name: 'text', arguments: {} })
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  let calls = 0
  for (let i = 0; i < 50 && calls === 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 50))
    const row = await db.selectFrom('usage').select('calls').executeTakeFirst()
    calls = Number(row?.calls ?? 0)
  }
  t.equal(calls, 1, 'stored by the timer, without a read or a shutdown')
})

t.test('remote-mcp calls are counted: calls, errors, time', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t, { TOOLGATE_USAGE_FLUSH_MS: '0' })
  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: fixture.url, transport: 'streamable-http' }] })).status, 200)
  const client = await gw.connect('fx', await gw.createKey())
  for (let i = 0; i < 2; i++) await client.callTool({ name: 'echo', arguments: { text: CANARY } })
  await t.rejects(client.callTool({ name: 'fail', arguments: {} }), /fixture failure/)
  const body = await (await gw.admin('GET', '/usage?server=fx')).json() as { series: Series[] }
  const rows = new Map(body.series.map(row => [row.tool, row]))
  t.same([rows.get('echo')?.calls, rows.get('echo')?.errors, rows.get('echo')?.endUsers], [2, 0, 1])
  t.same([rows.get('fail')?.calls, rows.get('fail')?.errorsByKind], [1, { rpc_error: 1 }], 'a thrown upstream error counts as rpc_error')
  t.ok(rows.get('echo')!.totalMs > 0, 'total time measured')
  t.equal(rows.get('echo')!.bytesFromUpstream, 0, 'MCP upstreams: no byte counts (documented)')
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const dump = await sql<{ row: string }>`select row_to_json(u)::text as row from usage u`.execute(db)
  t.notOk(dump.rows.some(r => r.row.includes(CANARY)), 'no canary in the rows')
})
