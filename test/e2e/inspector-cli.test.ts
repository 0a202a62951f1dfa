// A real client: the MCP Inspector CLI (@modelcontextprotocol/inspector 2, as a child process
// under the project's Node 24) against a running Toolgate in front of the mock upstream.
// tools/list (names and input schemas as the Inspector prints them), tools/call (content and
// structuredContent, path and query encoding as the upstream saw it), an isError result (exit 5),
// argument coercion of --tool-arg, a missing or invalid API key (exit 3, auth_required, no hang),
// and the 2026-07-28 era (--protocol-era modern: no initialize).
import t, { type Test } from 'tap'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { inspectorCli, type Inspector, type InspectorRun } from '../helpers/inspector.ts'

useTestCluster(t)
// Postgres start plus a dozen Inspector processes on a busy 2-core machine.
t.setTimeout(300_000)

const object = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required })
const userOutput = object({ id: { type: 'string' }, name: { type: 'string' }, followers: { type: 'integer' } }, ['id', 'name'])

function documentFor (upstream: MockUpstream) {
  return {
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{
      name: 'demo',
      tools: [
        {
          name: 'get_user', title: 'Get a user', description: 'One user by id', provider: 'mock', method: 'GET', path: '/users/{id}',
          input: object({ id: { type: 'string' } }, ['id']), output: userOutput
        },
        {
          name: 'search', description: 'Echoes the query', provider: 'mock', method: 'GET', path: '/echo/search',
          input: object({ q: { type: 'string' }, limit: { type: 'integer' } }, ['q'])
        },
        { name: 'status', provider: 'mock', method: 'GET', path: '/status/{code}', input: object({ code: { type: 'string' } }, ['code']) }
      ]
    }]
  }
}

/** tools/list as the Inspector must print it: exactly these, in config order. */
const expectedTools = [
  {
    name: 'get_user',
    title: 'Get a user',
    description: 'One user by id',
    inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    outputSchema: userOutput
  },
  {
    name: 'search',
    description: 'Echoes the query',
    inputSchema: { type: 'object', properties: { q: { type: 'string' }, limit: { type: 'integer' } }, required: ['q'] }
  },
  {
    name: 'status',
    inputSchema: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] }
  }
]

let upstream: MockUpstream
let gw: TestGateway
let inspector: Inspector
let key: string
let url: string

t.before(async () => {
  upstream = await startMockUpstream()
  gw = await startTestGateway(t)
  const applied = await gw.applyConfig(documentFor(upstream))
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  key = await gw.createKey()
  url = `${gw.url}/mcp/demo`
  inspector = await inspectorCli(t)
})
t.teardown(() => upstream.close())

/** `--cli <url> --transport http [--header Authorization…] <args>` */
const cli = (args: string[], auth: string | null = `Bearer ${key}`) =>
  inspector.run([url, '--transport', 'http', '--connect-timeout', '60000', ...(auth === null ? [] : ['--header', `Authorization: ${auth}`]), ...args])

const describe = (run: InspectorRun) => `exit ${run.code}${run.signal ? ` (${run.signal})` : ''}${run.timedOut ? ' TIMED OUT' : ''}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`
/** What the Inspector printed, shown in the diagnostics of a failing assertion. */
const output = (run: InspectorRun) => ({ signal: run.signal, timedOut: run.timedOut, stdout: run.stdout, stderr: run.stderr })

/** The JSON the Inspector printed on stdout (its default text format is pretty-printed JSON). */
function stdoutJson (t: Test, run: InspectorRun): any {
  try {
    return JSON.parse(run.stdout)
  } catch {
    t.fail(`stdout is not one JSON document: ${describe(run)}`)
    return undefined
  }
}

/** The error envelope the Inspector wrote as the last stderr line. */
function stderrError (t: Test, run: InspectorRun): { code?: string, message?: string } {
  const last = run.stderr.trim().split('\n').at(-1) ?? ''
  try {
    return (JSON.parse(last) as { error: { code?: string, message?: string } }).error ?? {}
  } catch {
    t.fail(`last stderr line is not a JSON error envelope: ${describe(run)}`)
    return {}
  }
}

/** The MCP methods of the request log lines the gateway wrote since `since`. */
const rpcMethodsSince = (since: number) => gw.logs.slice(since)
  .map(line => JSON.parse(line) as { msg?: string, rpcMethod?: string, route?: string, status?: number })
  .filter(entry => entry.msg === 'request' && entry.route === '/mcp/:server')

t.test('tools/list: the exact tools with their input and output schemas', async t => {
  const seen = gw.logs.length
  const run = await cli(['--method', 'tools/list'])
  t.equal(run.timedOut, false, 'the Inspector ended by itself')
  t.equal(run.code, 0, 'exit status 0', output(run))
  const printed = stdoutJson(t, run)
  t.same(printed?.tools?.map((tool: { name: string }) => tool.name), ['get_user', 'search', 'status'], 'the tool names, in config order')
  t.strictSame(printed, { tools: expectedTools }, 'names, titles, descriptions, input and output schemas exactly')
  const lines = rpcMethodsSince(seen)
  t.ok(lines.some(line => line.rpcMethod === 'initialize' && line.status === 200), 'the default (legacy) era initializes')
  t.ok(lines.some(line => line.rpcMethod === 'tools/list' && line.status === 200), 'the gateway answered tools/list')
})

t.test('tools/call with --tool-arg: query values with a space and a slash are URL-encoded, numbers coerced', async t => {
  const before = upstream.requests.length
  const run = await cli(['--method', 'tools/call', '--tool-name', 'search', '--tool-arg', 'q=a b/c', 'limit=5'])
  t.equal(run.code, 0, 'exit status 0', output(run))
  const requests = upstream.requests.slice(before)
  t.equal(requests.length, 1, 'one upstream request')
  t.equal(requests[0]?.method, 'GET')
  t.equal(requests[0]?.url, '/echo/search?q=a%20b%2Fc&limit=5', 'space as %20, slash as %2F; limit=5 went as the integer 5 (a string would fail validation)')
  t.notOk(requests[0]?.headers.authorization, 'the client\'s API key is not forwarded upstream')
  const result = stdoutJson(t, run)
  t.equal(result?.isError, undefined, 'not an error result')
  t.equal(result?.content?.length, 1)
  t.equal(result?.content?.[0]?.type, 'text')
  const echoed = JSON.parse(result?.content?.[0]?.text ?? 'null')
  t.match(echoed, { method: 'GET', path: '/echo/search', query: '?q=a%20b%2Fc&limit=5', body: '' }, 'the text is the upstream\'s answer')
  t.equal(echoed?.headers?.host, `127.0.0.1:${upstream.port}`, 'the answer came from this mock upstream')
})

t.test('tools/call with --tool-args-json: a path value with a space and a slash, content and structuredContent', async t => {
  const before = upstream.requests.length
  const run = await cli(['--method', 'tools/call', '--tool-name', 'get_user', '--tool-args-json', JSON.stringify({ id: 'x y/z' })])
  t.equal(run.code, 0, 'exit status 0', output(run))
  t.same(upstream.requests.slice(before).map(request => request.url), ['/users/x%20y%2Fz'], 'the path segment is encoded, the slash included')
  const user = { id: 'x y/z', name: 'Ada Lovelace', email: 'ada@example.com', followers: 42 }
  t.strictSame(stdoutJson(t, run), {
    content: [{ type: 'text', text: JSON.stringify(user) }],
    structuredContent: user
  }, 'exactly what the mock upstream returned, as text and as structured content')
})

t.test('an isError result (upstream 500): the result on stdout, exit status 5, tool_is_error on stderr', async t => {
  const before = upstream.requests.length
  // '"500"' because --tool-arg reads a value as JSON when it can: 500 would be a number.
  const run = await cli(['--method', 'tools/call', '--tool-name', 'status', '--tool-arg', 'code="500"'])
  t.equal(run.timedOut, false)
  t.equal(run.code, 5, 'exit status 5', output(run))
  t.same(upstream.requests.slice(before).map(request => request.url), ['/status/500'])
  t.strictSame(stdoutJson(t, run), {
    content: [{ type: 'text', text: 'Upstream responded 500 Internal Server Error: {"error":"status 500","detail":""}' }],
    isError: true
  }, 'the whole error result is printed')
  t.strictSame(stderrError(t, run), { code: 'tool_is_error', message: 'Tool \'status\' returned isError:true.' })
})

t.test('--tool-arg code=500 is the number 500: an invalid-arguments error result, nothing goes upstream', async t => {
  const before = upstream.requests.length
  const run = await cli(['--method', 'tools/call', '--tool-name', 'status', '--tool-arg', 'code=500'])
  t.equal(run.code, 5, 'exit status 5', output(run))
  t.strictSame(stdoutJson(t, run), {
    content: [{ type: 'text', text: 'Invalid arguments for tool status: code: must be string' }],
    isError: true
  })
  t.equal(stderrError(t, run).code, 'tool_is_error')
  t.equal(upstream.requests.length, before, 'no upstream request')
})

t.test('an unknown tool: the Inspector says so (exit 5, tool_not_found), nothing goes upstream', async t => {
  const before = upstream.requests.length
  const run = await cli(['--method', 'tools/call', '--tool-name', 'no_such_tool', '--tool-arg', 'q=x'])
  t.equal(run.code, 5, 'exit status 5', output(run))
  t.equal(run.stdout, '', 'no result on stdout')
  t.strictSame(stderrError(t, run), { code: 'tool_not_found', message: 'Tool \'no_such_tool\' not found on server.' })
  t.equal(upstream.requests.length, before)
})

t.test('an invalid or missing API key: exit 3, auth_required, promptly (no OAuth login, no hang)', async t => {
  const before = upstream.requests.length
  const seen = gw.logs.length

  const wrong = await cli(['--method', 'tools/list'], 'Bearer tg_not-a-real-key')
  t.equal(wrong.timedOut, false, 'ended by itself')
  t.equal(wrong.code, 3, 'exit status 3', output(wrong))
  t.equal(wrong.stdout, '', 'no result on stdout')
  const wrongError = stderrError(t, wrong)
  t.equal(wrongError.code, 'auth_required')
  t.match(wrongError.message, /OAuth.*--stored-auth-only/, 'without a TTY it will not start an OAuth login, and says what to use')

  const wrongStored = await cli(['--method', 'tools/list', '--stored-auth-only'], 'Bearer tg_not-a-real-key')
  t.equal(wrongStored.code, 3, 'exit status 3', output(wrongStored))
  const storedError = stderrError(t, wrongStored)
  t.equal(storedError.code, 'auth_required')
  t.match(storedError.message, /API key invalid/, 'the gateway\'s own reason reaches the user')

  const missing = await cli(['--method', 'tools/call', '--tool-name', 'search', '--tool-arg', 'q=x', '--stored-auth-only'], null)
  t.equal(missing.code, 3, 'exit status 3', output(missing))
  t.equal(missing.stdout, '')
  const missingError = stderrError(t, missing)
  t.equal(missingError.code, 'auth_required')
  t.match(missingError.message, /Missing API key: send Authorization: Bearer <key>/)

  t.equal(upstream.requests.length, before, 'nothing reached the upstream')
  const lines = rpcMethodsSince(seen)
  t.ok(lines.length > 0 && lines.every(line => line.status === 401), `every MCP request was answered 401 (${lines.map(line => line.status).join(', ')})`)
  t.notOk(JSON.stringify(gw.logs.slice(seen)).includes('tg_not-a-real-key'), 'the presented key is not logged')
})

t.test('--protocol-era modern (2026-07-28): the same tools and calls, without initialize', async t => {
  const seen = gw.logs.length
  const list = await cli(['--method', 'tools/list', '--protocol-era', 'modern'])
  t.equal(list.code, 0, 'exit status 0', output(list))
  t.strictSame(stdoutJson(t, list)?.tools, expectedTools, 'the same tools and schemas')

  const before = upstream.requests.length
  const call = await cli(['--method', 'tools/call', '--tool-name', 'get_user', '--tool-arg', 'id=x y/z', '--protocol-era', 'modern'])
  t.equal(call.code, 0, 'exit status 0', output(call))
  t.same(upstream.requests.slice(before).map(request => request.url), ['/users/x%20y%2Fz'])
  const result = stdoutJson(t, call)
  t.same(result?.structuredContent, { id: 'x y/z', name: 'Ada Lovelace', email: 'ada@example.com', followers: 42 })

  const failed = await cli(['--method', 'tools/call', '--tool-name', 'status', '--tool-arg', 'code="503"', '--protocol-era', 'modern'])
  t.equal(failed.code, 5, 'an isError result exits 5 in this era too', output(failed))
  t.equal(stdoutJson(t, failed)?.isError, true)

  const methods = rpcMethodsSince(seen).map(line => line.rpcMethod)
  t.notOk(methods.includes('initialize'), `no initialize in the modern era (${methods.join(', ')})`)
  t.ok(methods.includes('server/discover'), 'it discovered the server instead')
  t.ok(methods.includes('tools/list') && methods.includes('tools/call'), 'tools/list and tools/call reached the gateway')
})
