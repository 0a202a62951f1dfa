// DESIGN promises 1, 2 and 4: no payload, token, secret or client address in any log line or
// table. Canary strings travel in arguments, upstream responses (success and error bodies), a
// secret variable and through interceptors (JMESPath and JS, both phases, one that throws the
// payload in its error message); afterwards every line pino wrote (at trace level) and every row of every table
// is searched for them.
import t from 'tap'
import { sql } from 'kysely'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { ADMIN_TOKEN, openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const ARGUMENT_CANARY = 'canary-argument-7f3a9c'
const RESPONSE_CANARY = 'canary-response-51d2e8'
const SECRET_CANARY = 'canary-secret-c0ffee42'

t.test('no canary reaches a log line or a table', async t => {
  const upstream = await startMockUpstream({ canary: RESPONSE_CANARY })
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { LOG_LEVEL: 'trace' })
  const object = { type: 'object', properties: { q: { type: 'string' }, id: { type: 'string' }, n: { type: 'integer' } } }
  const applied = await gw.applyConfig({
    variables: [{ name: 'UPSTREAM_TOKEN', kind: 'SECRET', value: SECRET_CANARY }],
    providers: [{ name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${UPSTREAM_TOKEN}' } }],
    servers: [{
      name: 'demo',
      tools: [
        { name: 'echo', provider: 'mock', method: 'POST', path: '/echo', input: object },
        { name: 'search', provider: 'mock', method: 'GET', path: '/echo/search', input: object },
        { name: 'canary', provider: 'mock', method: 'GET', path: '/canary', input: object, output: { type: 'object' } },
        { name: 'fail', provider: 'mock', method: 'GET', path: `/status/500`, input: object },
        { name: 'user', provider: 'mock', method: 'GET', path: '/users/{id}', input: { ...object, required: ['id'] } },
        {
          name: 'shaped',
          provider: 'mock',
          method: 'POST',
          path: '/echo/shaped',
          input: object,
          request: [{ js: '(args) => ({ q: args.q + "!" })' }],
          response: [{ jmespath: '{body: body}' }, { js: '(input) => ({ echoed: input.body })' }]
        },
        { name: 'leaky', provider: 'mock', method: 'GET', path: '/canary', input: object, response: [{ js: '(input, ctx) => { throw new Error(JSON.stringify([input, ctx.arguments])) }' }] }
      ]
    }]
  })
  t.equal(applied.status, 200, 'config applied')
  const key = await gw.createKey({ endUser: 'privacy-user' })
  const client = await gw.connect('demo', key)

  const echo = await client.callTool({ name: 'echo', arguments: { q: ARGUMENT_CANARY } })
  const echoed = (echo.content as Array<{ text: string }>)[0]!.text
  t.match(echoed, ARGUMENT_CANARY, 'the argument reached the upstream body')
  t.match(echoed, SECRET_CANARY, 'the secret was injected into the upstream header')
  await client.callTool({ name: 'search', arguments: { q: ARGUMENT_CANARY } })
  const canary = await client.callTool({ name: 'canary', arguments: {} })
  t.match(JSON.stringify(canary), RESPONSE_CANARY, 'the upstream response reached the client')
  await client.callTool({ name: 'fail', arguments: { q: ARGUMENT_CANARY } })
  await client.callTool({ name: 'user', arguments: { id: ARGUMENT_CANARY } })
  const shaped = await client.callTool({ name: 'shaped', arguments: { q: ARGUMENT_CANARY } })
  t.match(JSON.stringify(shaped), `${ARGUMENT_CANARY}!`, 'the interceptors rewrote the call')
  const leaky = await client.callTool({ name: 'leaky', arguments: { q: ARGUMENT_CANARY } })
  t.match(JSON.stringify(leaky), RESPONSE_CANARY, 'the failing interceptor\'s message (to the client) quotes the payload')
  t.match(JSON.stringify(leaky), ARGUMENT_CANARY)
  const invalid = await client.callTool({ name: 'echo', arguments: { n: ARGUMENT_CANARY } })
  t.equal(invalid.isError, true, 'invalid arguments are an error result')
  await client.callTool({ name: 'no_such_tool', arguments: { q: ARGUMENT_CANARY } }).catch(() => {})
  // Malformed input carrying the canary must not be echoed into the log either.
  await fetch(`${gw.url}/mcp/demo`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: `{"broken": "${ARGUMENT_CANARY}"` })

  t.ok(gw.logs.length > 5, 'the gateway wrote log lines')
  const requestLines = gw.logs.filter(line => line.includes('"reqId"'))
  t.ok(requestLines.some(line => line.includes('"tool":"echo"')), 'request lines name the tool')
  const all = gw.logs.join('')
  for (const [name, value] of Object.entries({ ARGUMENT_CANARY, RESPONSE_CANARY, SECRET_CANARY, apiKey: key, adminToken: ADMIN_TOKEN })) {
    t.notOk(all.includes(value), `no log line contains the ${name}`)
  }
  for (const line of requestLines) {
    t.notOk(/127\.0\.0\.1|remoteAddress|"ip"/.test(line), 'request lines carry no client address')
  }

  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db)
  t.ok(tables.rows.length >= 10, 'found the schema tables')
  for (const { table_name: table } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(db)
    const dump = rows.rows.map(r => r.row).join('\n')
    for (const [name, value] of Object.entries({ ARGUMENT_CANARY, RESPONSE_CANARY, SECRET_CANARY, apiKey: key, adminToken: ADMIN_TOKEN })) {
      t.notOk(dump.includes(value), `table ${table} holds no ${name}`)
    }
    // bytea columns print as hex: look for the secret's hex form too.
    t.notOk(dump.includes(Buffer.from(SECRET_CANARY).toString('hex')), `table ${table} holds no hex-encoded secret`)
  }
})
