// DESIGN promise 6, deletion means deletion: export a workspace with everything in it, then delete
// it. Afterwards no row of any table references it except the usage and billing aggregates, its
// API keys and admin routes are gone, and a restart starts a fresh workspace. With a grace period
// the workspace stops serving at once, can be restored, and the job purges it when the period ends.
import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { loadSettings } from '../../src/config/settings.ts'
import { raiseNotice, listNotices, dismissNotice } from '../../src/notifications/store.ts'
import { TokenVault } from '../../src/oauth/vault.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { openTestDb, startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'

useTestCluster(t)

const SECRET_CANARY = 'lifecycle-secret-5b1e0c7a'
const OAUTH_CANARY = 'lifecycle-oauth-token-9d2f61'
const END_USERS = ['deletion-user-alpha', 'deletion-user-beta']

async function populate (t: Test, gw: TestGateway, upstreamUrl: string): Promise<string[]> {
  const applied = await gw.applyConfig({
    variables: [{ name: 'UPSTREAM_TOKEN', kind: 'SECRET', value: SECRET_CANARY }, { name: 'REGION', kind: 'ENV', value: 'eu' }],
    providers: [{ name: 'mock', baseUrl: upstreamUrl, headers: { Authorization: 'Bearer ${UPSTREAM_TOKEN}' } }],
    servers: [{
      name: 'shop',
      tools: [
        { name: 'echo', provider: 'mock', method: 'POST', path: '/echo', input: { type: 'object', properties: { q: { type: 'string' } } }, response: [{ jmespath: 'method' }] },
        { name: 'fail', provider: 'mock', method: 'GET', path: '/status/503' }
      ]
    }]
  })
  t.equal(applied.status, 200, 'config applied')
  const keys: string[] = []
  for (const endUser of END_USERS) keys.push(await gw.createKey({ endUser, name: `key of ${endUser}` }))
  const client = await gw.connect('shop', keys[0]!)
  for (let i = 0; i < 3; i++) await client.callTool({ name: 'echo', arguments: { q: 'hello' } })
  for (let i = 0; i < 5; i++) await client.callTool({ name: 'fail', arguments: {} })
  await client.close()
  await gw.gateway.notices.settle()
  await gw.gateway.lastConnected.settle()
  return keys
}

/** Every table of the schema, each row as text. */
async function dumpTables (databaseUrl: string): Promise<Map<string, string[]>> {
  const { db } = openTestDb(databaseUrl)
  try {
    const { rows: tables } = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db)
    const out = new Map<string, string[]>()
    for (const { table_name: table } of tables) {
      const { rows } = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(db)
      out.set(table, rows.map(r => r.row))
    }
    return out
  } finally {
    await db.destroy()
  }
}

t.test('export, then delete: only the aggregates remain', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { TOOLGATE_USAGE_FLUSH_MS: '0' })
  const workspaceId = gw.gateway.workspaceId
  const keys = await populate(t, gw, upstream.url)

  // An operator account with a membership and a dismissal, so those cascade too.
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const account = await db.insertInto('accounts').values({ email: 'operator@example.test', name: 'Operator' }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('memberships').values({ workspace_id: workspaceId, account_id: account.id, role: 'owner' }).execute()
  await raiseNotice(db, workspaceId, { kind: 'test.notice', subject: 'x', severity: 'info', message: 'a notice' })
  const [notice] = (await listNotices(db, workspaceId, account.id)).filter(n => n.kind === 'test.notice')
  await dismissNotice(db, workspaceId, notice!.id, account.id)
  // An end user's upstream OAuth grant (sealed tokens) and a consent in progress.
  const endUser = await db.selectFrom('end_users').select('id').where('external_id', '=', END_USERS[0]!).executeTakeFirstOrThrow()
  await new TokenVault(db, gw.gateway.keyRing, workspaceId).store(endUser.id, 'mock', { accessToken: OAUTH_CANARY, refreshToken: `${OAUTH_CANARY}-refresh`, tokenType: 'bearer', scopes: ['read'] }, { requestedScopes: [] })
  await db.insertInto('oauth_states').values({ state_hash: 'h', workspace_id: workspaceId, end_user_id: endUser.id, provider: 'mock', server: 'shop', scopes: [], elicitation_id: 'e', expires_at: new Date(Date.now() + 60_000) }).execute()

  // ── export ─────────────────────────────────────────────────────────────────────────────────
  const exported = await gw.admin('GET', '/workspace/export')
  t.equal(exported.status, 200)
  t.match(exported.headers.get('content-disposition'), /attachment; filename="toolgate-workspace-export\.json"/)
  const text = await exported.text()
  const body = JSON.parse(text)
  t.equal(body.format, 'toolgate-workspace-export')
  t.match(body.workspace, { id: workspaceId, name: 'default', configVersion: 1, deletion: null })
  t.same(body.config.variables, [{ name: 'UPSTREAM_TOKEN', kind: 'SECRET' }, { name: 'REGION', kind: 'ENV', value: 'eu' }], 'the config, secrets without value')
  t.same(body.secrets.map((s: { name: string }) => s.name), ['UPSTREAM_TOKEN'], 'secrets as names')
  t.equal(body.config.servers[0].tools[0].response[0].jmespath, 'method', 'interceptors included')
  t.same(body.endUsers.map((u: { externalId: string }) => u.externalId).sort(), [...END_USERS].sort())
  t.same(body.apiKeys.map((k: { endUser: string }) => k.endUser).sort(), [...END_USERS].sort())
  t.match(body.accounts, [{ email: 'operator@example.test', role: 'owner' }])
  t.ok(body.auditLog.some((a: { action: string }) => a.action === 'config.apply'), 'audit log included')
  t.ok(body.auditLog.some((a: { action: string }) => a.action === 'api_key.create'))
  const usageCalls = body.usage.reduce((n: number, u: { calls: number }) => n + u.calls, 0)
  t.equal(usageCalls, 8, 'usage rows included (3 echo + 5 fail)')
  t.equal(body.billingPeriods[0].calls, 8)
  t.ok(body.notifications.some((n: { kind: string }) => n.kind === 'upstream.failing'), 'notices included')
  t.match(body.notifications.find((n: { kind: string }) => n.kind === 'test.notice').dismissals, [{ accountId: account.id }])
  t.match(body.servers, [{ name: 'shop', kind: 'api' }])
  t.ok(body.servers[0].lastConnectedAt, 'last connection time included')
  t.match(body.oauthConnections, [{ endUser: END_USERS[0], provider: 'mock', scopes: ['read'], hasRefreshToken: true }], 'OAuth connections included')
  t.notOk(text.includes(OAUTH_CANARY), 'no OAuth token in the export')
  t.notOk(text.includes(SECRET_CANARY), 'no secret value in the export')
  t.notOk(text.includes(Buffer.from(SECRET_CANARY).toString('base64')), 'nor its base64')
  for (const key of keys) t.notOk(text.includes(key), 'no API key in the export')
  const { rows: hashes } = await sql<{ key_hash: string }>`select key_hash from api_keys`.execute(db)
  for (const { key_hash: hash } of hashes) t.notOk(text.includes(hash), 'no API key hash in the export')

  // ── delete ─────────────────────────────────────────────────────────────────────────────────
  const unconfirmed = await gw.admin('DELETE', '/workspace')
  t.equal(unconfirmed.status, 400, 'a DELETE without confirm purges nothing')
  const wrong = await gw.admin('DELETE', '/workspace?confirm=other')
  t.equal(wrong.status, 400)
  t.match(await wrong.json(), { error: { message: /give the workspace's name \("default"\)/ } })
  t.equal((await gw.admin('GET', '/servers')).status, 200, 'still there')

  const deleted = await gw.admin('DELETE', '/workspace?confirm=default')
  t.equal(deleted.status, 200)
  const report = await deleted.json() as { status: string, removed: Record<string, number> }
  t.equal(report.status, 'purged')
  t.match(report.removed, { api_keys: 2, end_users: 2, variables: 2, providers: 1, servers: 1, tools: 2, interceptors: 1, memberships: 1 })
  t.ok(report.removed.audit_log! > 0 && report.removed.notifications! >= 2)
  t.notOk('usage' in report.removed || 'billing_periods' in report.removed, 'aggregates are kept')

  const tables = await dumpTables(gw.databaseUrl)
  for (const [table, rows] of tables) {
    const hits = rows.filter(row => row.includes(workspaceId)).length
    if (table === 'usage' || table === 'billing_periods') t.ok(hits > 0, `${table} keeps its aggregate rows`)
    else t.equal(hits, 0, `no ${table} row references the workspace`)
    for (const endUser of END_USERS) t.notOk(rows.some(row => row.includes(endUser)), `no end user in ${table}`)
    t.notOk(rows.some(row => row.includes('operator@example.test')) && table !== 'accounts', `no operator in ${table}`)
  }
  t.equal(tables.get('notification_dismissals')!.length, 0, 'dismissals cascaded')
  t.equal(tables.get('oauth_tokens')!.length, 0, 'OAuth tokens purged')
  t.equal(tables.get('oauth_states')!.length, 0, 'consent states purged')
  t.equal(tables.get('admin_tokens')!.length, 0)
  t.equal(tables.get('accounts')!.length, 1, 'the account itself is the deployment\'s, only its membership went')
  const usageRows = await db.selectFrom('usage').select(['calls']).where('workspace_id', '=', workspaceId).execute()
  t.equal(usageRows.reduce((n, r) => n + Number(r.calls), 0), 8, 'the usage counts survive the purge')

  // ── afterwards ─────────────────────────────────────────────────────────────────────────────
  t.equal(gw.gateway.registry.current.servers.size, 0, 'the compiled config is dropped')
  const mcp = await fetch(`${gw.url}/mcp/shop`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[0]}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
  })
  t.equal(mcp.status, 401, 'MCP: the purged API key is unknown at once')
  const servers = await gw.admin('GET', '/servers')
  t.equal(servers.status, 410, 'admin API: gone')
  t.match(await servers.json(), { error: { code: 'TG_ERR_WORKSPACE_DELETED' } })
  t.match(await (await gw.admin('GET', '/workspace')).json(), { id: workspaceId, status: 'purged', name: null })
  t.equal((await gw.admin('GET', '/workspace/export')).status, 410)
  t.equal((await gw.admin('DELETE', '/workspace?confirm=default')).status, 410)
  t.notOk(gw.logs.some(line => line.includes(SECRET_CANARY)), 'no secret in the log')
  const purgedLine = gw.logs.map(line => JSON.parse(line)).find(line => line.msg === 'workspace purged')
  t.match(purgedLine, { workspace: workspaceId, removed: { api_keys: 2 } }, 'the purge is logged with counts')

  // A restart begins a fresh, empty workspace.
  const env = { DATABASE_URL: gw.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: gw.settings.encryptionKeys! }
  await gw.stop()
  const next = await startTestGateway(t, env)
  t.not(next.gateway.workspaceId, workspaceId, 'a new workspace')
  t.equal(next.gateway.workspace.current.status, 'active')
  t.same(await (await next.admin('GET', '/servers')).json(), [])
  const oldKey = await fetch(`${next.url}/mcp/shop`, { method: 'POST', headers: { authorization: `Bearer ${keys[0]}`, 'content-type': 'application/json' }, body: '{}' })
  t.equal(oldKey.status, 401, 'the purged API key is unknown')
})

t.test('a grace period: nothing served, restore possible, the job purges when it ends', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { TOOLGATE_DELETION_GRACE_DAYS: '7' })
  const other = await startTestGateway(t, { DATABASE_URL: gw.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: gw.settings.encryptionKeys! })
  const workspaceId = gw.gateway.workspaceId
  const keys = await populate(t, gw, upstream.url)
  const call = (target: TestGateway) => fetch(`${target.url}/mcp/shop`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[0]}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'deletion-test', version: '1.0.0' } } })
  })

  t.equal((await gw.admin('DELETE', '/workspace?confirm=default&graceDays=31')).status, 400, 'at most 30 days')
  const before = Date.now()
  const pending = await gw.admin('DELETE', '/workspace?confirm=default')
  t.equal(pending.status, 202)
  const { status, purgeAt } = await pending.json() as { status: string, purgeAt: string }
  t.equal(status, 'pending_deletion')
  const days = (Date.parse(purgeAt) - before) / 86_400_000
  t.ok(days > 6.99 && days < 7.01, `purged in 7 days (${days.toFixed(3)})`)
  t.match(await (await gw.admin('GET', '/workspace')).json(), { status: 'pending_deletion', purgeAt })

  const gone = await call(gw)
  t.equal(gone.status, 410, 'MCP refused at once')
  t.match(await gone.json(), { jsonrpc: '2.0', error: { message: 'This workspace has been deleted' } })
  const anonymous = await fetch(`${gw.url}/mcp/shop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(anonymous.status, 401, 'nothing said to a caller without a key')
  const refused = await gw.admin('GET', '/servers')
  t.equal(refused.status, 409)
  t.match(await refused.json(), { error: { code: 'TG_ERR_WORKSPACE_PENDING_DELETION', message: /POST \/api\/v1\/workspace\/restore/ } })
  t.equal((await gw.admin('GET', '/workspace/export')).status, 200, 'export still possible')
  await until(() => !other.gateway.workspace.active, 'the other replica follows through NOTIFY')
  t.equal((await call(other)).status, 410, 'the other replica refuses too')
  const again = await gw.admin('DELETE', '/workspace?confirm=default&graceDays=3')
  t.equal(again.status, 202)
  t.equal((await again.json() as { purgeAt: string }).purgeAt, purgeAt, 'a second request keeps the first date')

  const restored = await gw.admin('POST', '/workspace/restore')
  t.equal(restored.status, 200)
  t.equal((await call(gw)).status, 200, 'served again after restore')
  await until(() => other.gateway.workspace.active, 'the other replica is restored')
  t.equal((await call(other)).status, 200)
  t.equal((await gw.admin('POST', '/workspace/restore')).status, 409, 'nothing to restore')
  const audit = await (await gw.admin('GET', '/audit?action=workspace.*')).json() as { entries: Array<{ action: string, details: unknown }> }
  t.match(audit.entries.map(e => e.action), ['workspace.restore', 'workspace.delete'], 'deletion and restore are audited')
  t.match(audit.entries[1]!.details, { graceDays: 7, purgeAt })

  // The period ends: the job purges (here the other replica's job), and both replicas follow.
  t.equal((await gw.admin('DELETE', '/workspace?confirm=default&graceDays=1')).status, 202)
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  await db.updateTable('workspaces').set({ purge_at: new Date(Date.now() - 60_000) }).where('id', '=', workspaceId).execute()
  await other.gateway.jobs.run()
  t.equal(other.gateway.workspace.current.status, 'purged')
  await until(() => gw.gateway.workspace.current.status === 'purged', 'the first replica learns of the purge')
  await until(() => gw.gateway.registry.current.servers.size === 0, 'and drops its config')
  t.equal(await db.selectFrom('api_keys').select('id').execute().then(rows => rows.length), 0)
  t.equal(await db.selectFrom('workspaces').select('id').where('id', '=', workspaceId).execute().then(rows => rows.length), 0)
  t.ok(other.logs.some(line => line.includes('workspace purged after its grace period')), 'the job logs the purge')
  t.equal((await call(gw)).status, 401, 'the purged key is refused on the replica that did not purge, without waiting for its key cache')
})

t.test('a deletion whose period ended while nothing ran is purged at start', async t => {
  const gw = await startTestGateway(t)
  const workspaceId = gw.gateway.workspaceId
  const env = { DATABASE_URL: gw.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: gw.settings.encryptionKeys! }
  t.equal((await gw.admin('DELETE', '/workspace?confirm=default&graceDays=2')).status, 202)
  await gw.stop()
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  await db.updateTable('workspaces').set({ purge_at: new Date(Date.now() - 1000) }).where('id', '=', workspaceId).execute()
  const next = await startTestGateway(t, env)
  t.not(next.gateway.workspaceId, workspaceId)
  t.equal((await db.selectFrom('workspaces').select('id').execute()).length, 1, 'the old one is gone, a new default exists')
  t.equal((await next.admin('GET', '/servers')).status, 200)
})

t.test('a pending deletion can be made immediate', async t => {
  const gw = await startTestGateway(t, { TOOLGATE_DELETION_GRACE_DAYS: '30' })
  t.equal((await gw.admin('DELETE', '/workspace?confirm=default')).status, 202)
  const now = await gw.admin('DELETE', '/workspace?confirm=default&graceDays=0')
  t.equal(now.status, 200)
  t.match(await now.json(), { status: 'purged', removed: { audit_log: 1 } }, 'the deletion request\'s audit row went with it')
  t.equal(gw.gateway.workspace.current.status, 'purged')
})

t.test('settings: the grace period is at most 30 days', async t => {
  t.equal(loadSettings({}).deletionGraceDays, 0, 'immediate by default')
  t.equal(loadSettings({ TOOLGATE_DELETION_GRACE_DAYS: '30' }).deletionGraceDays, 30)
  t.throws(() => loadSettings({ TOOLGATE_DELETION_GRACE_DAYS: '31' }), /TOOLGATE_DELETION_GRACE_DAYS: at most 30/)
})

async function until (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
