// DESIGN promise 1 for remote-mcp servers: canaries in arguments, upstream results, prompt
// arguments, an upstream header secret and failing calls reach the client (or the upstream) but
// no log line (at trace level) and no table.
import t from 'tap'
import { sql } from 'kysely'
import { startFixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { ADMIN_TOKEN, openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const ARGUMENT_CANARY = 'canary-mcp-argument-4e1b7d'
const SECRET_CANARY = 'canary-mcp-secret-8a2c55'
const PROMPT_CANARY = 'canary-mcp-prompt-0f9e31'

t.test('no remote-mcp payload or secret reaches a log line or a table', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t, { LOG_LEVEL: 'trace' })
  const applied = await gw.applyConfig({
    variables: [{ name: 'UPSTREAM_TOKEN', kind: 'SECRET', value: SECRET_CANARY }],
    servers: [{ name: 'fx', kind: 'remote-mcp', url: fixture.url, headers: { Authorization: 'Bearer ${UPSTREAM_TOKEN}' } }]
  })
  t.equal(applied.status, 200)
  const key = await gw.createKey({ endUser: 'privacy-user' })
  const client = await gw.connect('fx', key)

  const echoed = await client.callTool({ name: 'echo', arguments: { text: ARGUMENT_CANARY } })
  t.match(JSON.stringify(echoed), ARGUMENT_CANARY, 'the argument went to the upstream and back')
  const headers = await client.callTool({ name: 'headers', arguments: {} })
  t.match(JSON.stringify(headers), SECRET_CANARY, 'the secret reached the upstream in its header')
  await client.getPrompt({ name: 'greeting', arguments: { who: PROMPT_CANARY } })
  await client.callTool({ name: 'fail', arguments: { text: ARGUMENT_CANARY } }).catch(() => {})
  await client.callTool({ name: 'no_such_tool', arguments: { text: ARGUMENT_CANARY } }).catch(() => {})
  // A lost session and a retried call: the reconnect path logs too.
  fixture.forgetSessions()
  await client.callTool({ name: 'echo', arguments: { text: ARGUMENT_CANARY } })

  t.ok(gw.logs.some(line => line.includes('upstream MCP session established')), 'the upstream session was logged')
  const all = gw.logs.join('')
  for (const [name, value] of Object.entries({ ARGUMENT_CANARY, SECRET_CANARY, PROMPT_CANARY, apiKey: key, adminToken: ADMIN_TOKEN })) {
    t.notOk(all.includes(value), `no log line contains the ${name}`)
  }

  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db)
  for (const { table_name: table } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(db)
    const dump = rows.rows.map(r => r.row).join('\n')
    for (const [name, value] of Object.entries({ ARGUMENT_CANARY, SECRET_CANARY, PROMPT_CANARY })) {
      t.notOk(dump.includes(value), `table ${table} holds no ${name}`)
    }
    t.notOk(dump.includes(Buffer.from(SECRET_CANARY).toString('hex')), `table ${table} holds no hex-encoded secret`)
  }
})
