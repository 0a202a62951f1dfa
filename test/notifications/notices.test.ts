// Operator notices: episodes and per-account dismissals on a real Postgres; the board's bounded
// writes; and through a real gateway: an api upstream failing repeatedly, a stdio server that
// cannot start, an old encryption key, dismissals that survive a restart, and no payload in a notice.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Db } from '../../src/db/index.ts'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { NoticeBoard } from '../../src/notifications/board.ts'
import { dismissNotice, listNotices, raiseNotice, resolveNotice, undismissNotice } from '../../src/notifications/store.ts'
import { checkKeyRotation, FAILURE_STREAK, oauthRefreshFailed, oauthRefreshSucceeded, UpstreamFailureWatch } from '../../src/notifications/watchers.ts'
import { createLogger } from '../../src/telemetry/logger.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { freshDatabase } from '../helpers/database.ts'
import { openTestDb, startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'

useTestCluster(t)

const ARGUMENT_CANARY = 'notice-canary-arg-93be1f'
const silent = createLogger('silent')

async function setup (t: Test): Promise<{ db: Db, workspaceId: string, accounts: [string, string] }> {
  const db = openTestDb(await freshDatabase()).db as Db
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  const { id: workspaceId } = await db.insertInto('workspaces').values({ name: `w-${randomUUID()}` }).returning('id').executeTakeFirstOrThrow()
  const a = await db.insertInto('accounts').values({ email: 'a@example.test' }).returning('id').executeTakeFirstOrThrow()
  const b = await db.insertInto('accounts').values({ email: 'b@example.test' }).returning('id').executeTakeFirstOrThrow()
  return { db, workspaceId, accounts: [a.id, b.id] }
}

t.test('episodes and dismissals per account', async t => {
  const { db, workspaceId, accounts: [a, b] } = await setup(t)
  const notice = { kind: 'upstream.failing', subject: 'shop', severity: 'warning' as const, message: 'first' }
  const t0 = new Date('2026-01-01T00:00:00Z')
  await raiseNotice(db, workspaceId, notice, t0)
  await raiseNotice(db, workspaceId, { ...notice, message: 'second' }, new Date(t0.getTime() + 1000))
  let [seen] = await listNotices(db, workspaceId, a)
  t.match(seen, { kind: 'upstream.failing', subject: 'shop', message: 'second', occurrences: 2, firstSeenAt: t0.toISOString(), episodeStartedAt: t0.toISOString(), resolvedAt: null, dismissedAt: null }, 'a repeat is the same episode')

  await dismissNotice(db, workspaceId, seen!.id, a, new Date(t0.getTime() + 2000))
  t.equal((await listNotices(db, workspaceId, a)).length, 0, 'hidden for the account that dismissed it')
  t.equal((await listNotices(db, workspaceId, b)).length, 1, 'still shown to another account')
  t.equal((await listNotices(db, workspaceId, null)).length, 1, 'and to the admin token')
  t.match(await listNotices(db, workspaceId, a, { includeDismissed: true }), [{ dismissedAt: new Date(t0.getTime() + 2000).toISOString() }])
  await dismissNotice(db, workspaceId, seen!.id, null, new Date(t0.getTime() + 2500))
  t.equal((await listNotices(db, workspaceId, null)).length, 0, 'the admin token dismisses for itself')
  await dismissNotice(db, workspaceId, seen!.id, null, new Date(t0.getTime() + 2600))
  t.equal((await db.selectFrom('notification_dismissals').select('account_id').execute()).length, 2, 'one dismissal per account, the admin token counting as one')

  await raiseNotice(db, workspaceId, notice, new Date(t0.getTime() + 3000))
  t.equal((await listNotices(db, workspaceId, a)).length, 0, 'a repeat of a dismissed episode stays dismissed')

  t.ok(await resolveNotice(db, workspaceId, 'upstream.failing', 'shop', new Date(t0.getTime() + 4000)))
  t.notOk(await resolveNotice(db, workspaceId, 'upstream.failing', 'shop'), 'resolving twice changes nothing')
  t.equal((await listNotices(db, workspaceId, b)).length, 0, 'resolved: not listed')
  t.match(await listNotices(db, workspaceId, b, { includeResolved: true }), [{ resolvedAt: new Date(t0.getTime() + 4000).toISOString() }])

  await raiseNotice(db, workspaceId, notice, new Date(t0.getTime() + 5000))
  ;[seen] = await listNotices(db, workspaceId, a)
  t.match(seen, { episodeStartedAt: new Date(t0.getTime() + 5000).toISOString(), resolvedAt: null, dismissedAt: null }, 'raised after a resolve: a new episode, shown again')

  await dismissNotice(db, workspaceId, seen!.id, a)
  await undismissNotice(db, workspaceId, seen!.id, a)
  t.equal((await listNotices(db, workspaceId, a)).length, 1, 'a dismissal can be taken back')
  const status = (promise: Promise<unknown>) => promise.then(() => 200, (err: { statusCode?: number }) => err.statusCode)
  t.equal(await status(dismissNotice(db, workspaceId, randomUUID(), a)), 404, 'an unknown notice: 404')
  t.equal(await status(dismissNotice(db, workspaceId, 'not-a-uuid', a)), 404, 'not an id: 404')
  const { id: otherWorkspace } = await db.insertInto('workspaces').values({ name: `o-${randomUUID()}` }).returning('id').executeTakeFirstOrThrow()
  t.equal(await status(dismissNotice(db, otherWorkspace, seen!.id, a)), 404, 'another workspace cannot dismiss it')
})

t.test('the board writes an open notice once per interval and resolves only open ones', async t => {
  const { db, workspaceId } = await setup(t)
  let now = Date.parse('2026-01-01T00:00:00Z')
  const board = new NoticeBoard({ db, workspaceId, logger: silent, clock: () => now, rewriteMs: 60_000 })
  await board.refresh()
  const notice = { kind: 'k', subject: 's', severity: 'info' as const, message: 'm' }
  for (let i = 0; i < 100; i++) board.raise(notice)
  await board.settle()
  const row = () => db.selectFrom('notifications').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow()
  t.equal((await row()).occurrences, 1, '100 raises, one write')
  now += 61_000
  board.raise(notice)
  await board.settle()
  t.equal((await row()).occurrences, 2, 'written again after the interval')
  board.resolve('k', 's')
  await board.settle()
  t.ok((await row()).resolved_at, 'resolved')
  await db.updateTable('notifications').set({ resolved_at: null }).execute() // another replica raised it again
  board.resolve('k', 's')
  await board.settle()
  t.equal((await row()).resolved_at, null, 'not known to be open here: no write')
  await board.refresh()
  t.ok(board.isOpen('k', 's'), 'refresh learns what other replicas raised')
  board.resolve('k', 's')
  await board.settle()
  t.ok((await row()).resolved_at, 'and can resolve it then')

  oauthRefreshFailed(board, 'github', 'invalid_grant')
  await board.settle()
  t.match(await listNotices(db, workspaceId, null), [{ kind: 'oauth.refresh_failed', subject: 'github', message: /provider "github" failed \(invalid_grant\)/ }])
  oauthRefreshSucceeded(board, 'github')
  await board.settle()
  t.equal((await listNotices(db, workspaceId, null)).length, 0)
})

t.test('upstream failure streaks', async t => {
  const { db, workspaceId } = await setup(t)
  const board = new NoticeBoard({ db, workspaceId, logger: silent })
  const watch = new UpstreamFailureWatch(board)
  const open = async () => { await board.settle(); return (await listNotices(db, workspaceId, null)).filter(n => n.kind === 'upstream.failing') }
  for (let i = 0; i < FAILURE_STREAK - 1; i++) watch.record('shop', 'get', { errorKind: 'timeout' })
  t.equal((await open()).length, 0, `${FAILURE_STREAK - 1} failures: no notice`)
  watch.record('shop', 'get', { errorKind: 'invalid_arguments' })
  watch.record('shop', 'get', { errorKind: 'interceptor' })
  watch.record('shop', 'get', { errorKind: 'upstream_status', upstreamStatus: 503 })
  t.match(await open(), [{ subject: 'shop', message: `The upstream of server "shop" failed ${FAILURE_STREAK} calls in a row (last: status 503, tool get)` }], 'the caller\'s and interceptors\' failures neither count nor break the streak')
  watch.record('shop', 'get', { errorKind: 'upstream_status', upstreamStatus: 404 })
  t.equal((await open()).length, 0, 'an answer (even a 404) resolves it')
  for (let i = 0; i < FAILURE_STREAK; i++) watch.record('other', 'x', { errorKind: 'upstream_status', upstreamStatus: 404 })
  t.equal((await open()).length, 0, '4xx answers are not upstream failures')
})

t.test('key rotation due', async t => {
  const { db, workspaceId } = await setup(t)
  const board = new NoticeBoard({ db, workspaceId, logger: silent })
  const now = new Date('2026-06-01T00:00:00Z')
  await db.insertInto('encryption_keys').values([
    { key_id: 'old', fingerprint: 'f1', first_seen_at: new Date(now.getTime() - 100 * 86_400_000) },
    { key_id: 'new', fingerprint: 'f2', first_seen_at: new Date(now.getTime() - 5 * 86_400_000) }
  ]).execute()
  const oldFirst = KeyRing.parse(`${KeyRing.generateSpec('old')},${KeyRing.generateSpec('new')}`)
  await checkKeyRotation(db, board, oldFirst, 90, now)
  await board.settle()
  t.match(await listNotices(db, workspaceId, null), [{ kind: 'key.rotation_due', subject: 'old', message: /"old" has been the active key for 100 days/ }])
  await checkKeyRotation(db, board, oldFirst, 0, now)
  await checkKeyRotation(db, board, KeyRing.parse(`${KeyRing.generateSpec('new')},${KeyRing.generateSpec('old')}`), 90, now)
  await board.settle()
  t.equal((await listNotices(db, workspaceId, null)).length, 0, 'a new first key resolves it')
})

async function notices (gw: TestGateway, query = ''): Promise<Array<Record<string, unknown>>> {
  await gw.gateway.notices.settle()
  const response = await gw.admin('GET', `/notifications${query}`)
  t.equal(response.status, 200)
  return (await response.json() as { notifications: Array<Record<string, unknown>> }).notifications
}

t.test('through the gateway: failing upstream, crashed stdio, dismissals survive a restart', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [
      {
        name: 'shop',
        tools: [
          { name: 'fail', provider: 'mock', method: 'GET', path: '/status/502', input: { type: 'object', properties: { q: { type: 'string' } } } },
          { name: 'ok', provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } }
        ]
      },
      { name: 'broken', kind: 'stdio', command: '/nonexistent/mcp-server' }
    ]
  })
  t.equal(applied.status, 200)
  const client = await gw.connect('shop', await gw.createKey())
  for (let i = 0; i < FAILURE_STREAK; i++) await client.callTool({ name: 'fail', arguments: { q: ARGUMENT_CANARY } })

  await until(async () => (await notices(gw)).some(n => n.kind === 'upstream.crashed'), 'the stdio server\'s notice')
  const open = await notices(gw)
  const failing = open.find(n => n.kind === 'upstream.failing')
  t.match(failing, { subject: 'shop', severity: 'warning', message: /failed 5 calls in a row \(last: status 502, tool fail\)/ })
  t.match(open.find(n => n.kind === 'upstream.crashed'), { subject: 'broken', severity: 'error', message: 'The stdio server "broken" crashed or could not start; Toolgate keeps restarting it' })
  t.notOk(JSON.stringify(open).includes(ARGUMENT_CANARY), 'no argument in a notice')

  t.equal((await gw.admin('POST', `/notifications/${failing!.id as string}/dismiss`)).status, 204)
  t.notOk((await notices(gw)).some(n => n.kind === 'upstream.failing'), 'dismissed')
  t.equal((await gw.admin('POST', `/notifications/${randomUUID()}/dismiss`)).status, 404)
  t.equal((await gw.admin('GET', '/notifications?dismissed=yes')).status, 400)

  // Dismissals are rows: a restart keeps them.
  const env = { DATABASE_URL: gw.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: gw.settings.encryptionKeys! }
  await gw.stop()
  const next = await startTestGateway(t, env)
  t.notOk((await notices(next)).some(n => n.kind === 'upstream.failing'), 'still dismissed after a restart')
  t.match((await notices(next, '?dismissed=true')).find(n => n.kind === 'upstream.failing'), { dismissedAt: String })

  // An answer from the upstream resolves it; removing the stdio server resolves its notice.
  const again = await next.connect('shop', await next.createKey({ endUser: 'bob' }))
  await again.callTool({ name: 'ok', arguments: { id: '7' } })
  t.match((await notices(next, '?dismissed=true&resolved=true')).find(n => n.kind === 'upstream.failing'), { resolvedAt: String })
  t.equal((await next.applyConfig({ providers: [{ name: 'mock', baseUrl: upstream.url }], servers: [{ name: 'shop', tools: [] }] })).status, 200)
  await until(async () => !(await notices(next)).some(n => n.kind === 'upstream.crashed'), 'removed server: resolved')
})

t.test('the start-up job raises key.rotation_due for an old key', async t => {
  const spec = KeyRing.generateSpec('aged')
  const gw = await startTestGateway(t, { TOOLGATE_ENCRYPTION_KEYS: spec, TOOLGATE_KEY_ROTATION_DAYS: '30' })
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  await db.updateTable('encryption_keys').set({ first_seen_at: new Date(Date.now() - 45 * 86_400_000) }).where('key_id', '=', 'aged').execute()
  await gw.gateway.jobs.run()
  t.match(await notices(gw), [{ kind: 'key.rotation_due', subject: 'aged', severity: 'info', message: /for 45 days/ }])
})

async function until (check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
