// DESIGN promises 1, 2 and 4: no payload, token, secret or client address in any log line or
// table. Canary strings travel in arguments, upstream responses (success and error bodies), a
// secret variable and through interceptors (JMESPath and JS, both phases, one that throws the
// payload in its error message); afterwards every line pino wrote (at trace level) and every row of every table
// is searched for them.
// A live debug console subscriber (opened with a scoped token in its URL) watches the whole
// workload: the payload canaries must reach its stream (volatile by design) and still appear
// nowhere else — no table, no file under the data directory, nothing the process wrote to stdout
// or stderr — and the secret, the client's API key and the tokens must not reach the stream either.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { sql } from 'kysely'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { finishedCalls, openDebug } from '../helpers/debug.ts'
import { testClusterDir } from '../helpers/database.ts'
import { ADMIN_TOKEN, openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const ARGUMENT_CANARY = 'canary-argument-7f3a9c'
const RESPONSE_CANARY = 'canary-response-51d2e8'
const SECRET_CANARY = 'canary-secret-c0ffee42'

/** Everything written to this process's stdout and stderr while `capture` is on (passed through). */
function captureOutput (): { text: () => string, stop: () => void } {
  const chunks: string[] = []
  const originals = [process.stdout.write, process.stderr.write] as const
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream)
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest)
    }) as typeof stream.write
  }
  return {
    text: () => chunks.join(''),
    stop: () => { process.stdout.write = originals[0]; process.stderr.write = originals[1] }
  }
}

/** Every file under `dir`, as text. */
async function filesUnder (dir: string): Promise<Array<{ path: string, text: string }>> {
  const out: Array<{ path: string, text: string }> = []
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.push({ path, text: (await readFile(path)).toString('latin1') })
  }
  return out
}

t.test('no canary reaches a log line or a table', async t => {
  const output = captureOutput()
  t.teardown(() => output.stop())
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
  // The live debug console watches the whole workload, through a scoped token in its URL.
  const minted = await gw.admin('POST', '/servers/demo/debug-token', { ttlSeconds: 600 })
  t.equal(minted.status, 201, 'debug token minted')
  const debugToken = ((await minted.json()) as { token: string }).token
  const debug = await openDebug(gw.url, 'demo', { query: debugToken })
  t.teardown(() => debug.close())
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

  // The debug stream saw every call (volatile by design: the canaries are meant to be there)…
  await debug.readUntil(events => finishedCalls(events).length >= 9, 10_000)
  t.equal(finishedCalls(debug.events).length, 9, 'the debug subscriber saw every tools/call')
  const stream = debug.raw()
  t.ok(stream.includes(ARGUMENT_CANARY), 'the argument canary is in the debug stream')
  t.ok(stream.includes(RESPONSE_CANARY), 'the response canary is in the debug stream')
  // …but not the credentials: the secret (echoed back by the mock, too), the API key, the tokens.
  for (const [name, value] of Object.entries({ SECRET_CANARY, apiKey: key, adminToken: ADMIN_TOKEN, debugToken })) {
    t.notOk(stream.includes(value), `the debug stream holds no ${name}`)
    t.notOk(stream.includes(Buffer.from(value).toString('base64')), `the debug stream holds no base64 ${name}`)
  }
  await debug.close()
  output.stop()

  // Everywhere else: nothing. Each canary and secret as written and base64-encoded.
  const forbidden: Record<string, string> = {}
  for (const [name, value] of Object.entries({ ARGUMENT_CANARY, RESPONSE_CANARY, SECRET_CANARY, apiKey: key, adminToken: ADMIN_TOKEN, debugToken })) {
    forbidden[name] = value
    forbidden[`base64 ${name}`] = Buffer.from(value).toString('base64')
  }
  const written = output.text()
  for (const [name, value] of Object.entries(forbidden)) t.notOk(written.includes(value), `nothing written to stdout/stderr holds the ${name}`)
  // The gateway's data dir, and the Postgres cluster's files (data pages after a checkpoint, WAL,
  // server log), which is what the data dir holds when Postgres is embedded.
  const { db: checkpointDb } = openTestDb(gw.databaseUrl)
  await sql`checkpoint`.execute(checkpointDb).catch(() => {})
  await checkpointDb.destroy()
  const clusterDir = await testClusterDir()
  const files = [...await filesUnder(gw.settings.dataDir), ...clusterDir ? await filesUnder(clusterDir) : []]
  t.ok(!clusterDir || files.length > 100, `${files.length} files searched (the embedded cluster's${clusterDir ? '' : ': none with TEST_DATABASE_URL'} and the data dir)`)
  if (clusterDir) t.ok(files.some(file => file.text.includes('privacy-user')), 'control: a value that is stored (the end user id) is found in the files')
  for (const [name, value] of Object.entries(forbidden)) {
    const holding = files.filter(file => file.text.includes(value)).map(file => file.path)
    t.same(holding, [], `no file holds the ${name}`)
  }

  t.ok(gw.logs.length > 5, 'the gateway wrote log lines')
  const requestLines = gw.logs.filter(line => line.includes('"reqId"'))
  t.ok(requestLines.some(line => line.includes('"tool":"echo"')), 'request lines name the tool')
  const all = gw.logs.join('')
  for (const [name, value] of Object.entries(forbidden)) {
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
    for (const [name, value] of Object.entries(forbidden)) {
      t.notOk(dump.includes(value), `table ${table} holds no ${name}`)
    }
    // bytea columns print as hex: look for the secret's hex form too.
    t.notOk(dump.includes(Buffer.from(SECRET_CANARY).toString('hex')), `table ${table} holds no hex-encoded secret`)
  }
})
