// Interceptors end to end, through the official MCP SDK client: JMESPath and JS in both phases,
// chained, on api tools (server defaults and per-tool chains) and on a remote-mcp server; what
// apply refuses (with paths, lines and columns); the REST resources and export; the dry-run
// tester; the savings counters; and that a failing interceptor's message never reaches the log.
import t from 'tap'
import { startFixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

interface Result {
  content: Array<{ type: string, text?: string }>
  structuredContent?: Record<string, unknown>
  isError?: boolean
}

const textOf = (result: unknown) => (result as Result).content[0]!.text!
const object = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required })
const CANARY = 'interceptor-canary-5d1f0a'

function documentFor (upstreamUrl: string) {
  return {
    providers: [{ name: 'mock', baseUrl: upstreamUrl }],
    servers: [{
      name: 'shop',
      // The server's default response chain: tools without their own get it.
      response: [{ name: 'only-body', jmespath: 'body' }],
      tools: [
        {
          name: 'user_summary',
          provider: 'mock',
          method: 'GET',
          path: '/users/{id}',
          input: object({ id: { type: 'string' } }, ['id']),
          // JMESPath then JS, chained: the JS sees the JMESPath output and the call's context.
          response: [
            { name: 'pick', jmespath: '{who: name, id: id}' },
            { name: 'annotate', js: '(input, ctx) => ({ ...input, tool: ctx.tool, server: ctx.server, status: ctx.status, typed: ctx.headers["content-type"], asked: ctx.arguments.id, caller: typeof ctx.endUserId })' }
          ]
        },
        {
          name: 'search',
          provider: 'mock',
          method: 'POST',
          path: '/echo/search',
          input: object({ q: { type: 'string' }, n: { type: 'integer' } }, ['q']),
          // Request chain, JS then JMESPath; the response comes from the server default (`body`).
          request: [
            { name: 'normalise', js: '(input) => ({ q: input.q.trim().toUpperCase(), n: (input.n ?? 1) * 2 })' },
            { name: 'tag', jmespath: "{q: join('-', [q, 'x']), n: n}" }
          ]
        },
        {
          name: 'raw_echo',
          provider: 'mock',
          method: 'GET',
          path: '/echo/raw',
          response: [] // opts out of the server default
        },
        {
          name: 'user_structured',
          provider: 'mock',
          method: 'GET',
          path: '/users/{id}',
          input: object({ id: { type: 'string' } }, ['id']),
          output: object({ label: { type: 'string' } }, ['label']),
          response: [{ js: 'async (input) => ({ label: `${input.name} (#${input.id})` })' }]
        },
        {
          name: 'broken',
          provider: 'mock',
          method: 'GET',
          path: '/users/{id}',
          input: object({ id: { type: 'string' } }, ['id']),
          response: [{ name: 'thrower', js: `(input, ctx) => {\n  const seen = JSON.stringify(input) + ctx.arguments.id\n  throw new Error('leaks ' + seen)\n}` }]
        },
        {
          name: 'slow_js',
          provider: 'mock',
          method: 'GET',
          path: '/users/{id}',
          input: object({ id: { type: 'string' } }, ['id']),
          response: [{ name: 'spin', js: '() => { for (;;) {} }', timeoutMs: 50 }]
        }
      ]
    }]
  }
}

t.test('api tools: both engines, both phases, chained, with server defaults', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig(documentFor(upstream.url))
  t.equal(applied.status, 200, await applied.clone().text())
  const client = await gw.connect('shop', await gw.createKey())

  const summary = await client.callTool({ name: 'user_summary', arguments: { id: 'ada' } }) as Result
  t.notOk(summary.isError, textOf(summary))
  t.same(JSON.parse(textOf(summary)), {
    who: 'Ada Lovelace', id: 'ada', tool: 'user_summary', server: 'shop', status: 200, typed: 'application/json', asked: 'ada', caller: 'string'
  }, 'JMESPath picked, then JS added context')

  const search = await client.callTool({ name: 'search', arguments: { q: '  hello ', n: 2 } }) as Result
  t.notOk(search.isError, textOf(search))
  t.same(JSON.parse(upstream.requests.at(-1)!.body), { q: 'HELLO-x', n: 4 }, 'the upstream got the arguments both request interceptors rewrote')
  t.same(JSON.parse(textOf(search)), { q: 'HELLO-x', n: 4 }, 'the server default response chain returned only the echoed body (a string, returned as itself)')

  const raw = await client.callTool({ name: 'raw_echo', arguments: {} }) as Result
  t.equal(JSON.parse(textOf(raw)).path, '/echo/raw', '`response: []` opts out of the server default')

  const structured = await client.callTool({ name: 'user_structured', arguments: { id: '7' } }) as Result
  t.notOk(structured.isError, textOf(structured))
  t.same(structured.structuredContent, { label: 'Ada Lovelace (#7)' }, 'an async JS output is the structuredContent of a tool with an output schema')

  const broken = await client.callTool({ name: 'broken', arguments: { id: CANARY } }) as Result
  t.equal(broken.isError, true)
  t.match(textOf(broken), /Interceptor "thrower" \(servers\[0\]\.tools\[4\]\.response\[0\]\) threw at line 3/, 'the error names the interceptor, where it is declared, and the line')
  const spin = await client.callTool({ name: 'slow_js', arguments: { id: '1' } }) as Result
  t.equal(spin.isError, true)
  t.match(textOf(spin), /"spin".*timed out after 50 ms/)
  const after = await client.callTool({ name: 'user_summary', arguments: { id: 'bob' } }) as Result
  t.notOk(after.isError, 'a normal call right after the failures succeeds')

  // Savings: bytes before and after, per tool, sizes only.
  const savings = await (await gw.admin('GET', '/interceptors/savings?server=shop')).json() as { tools: Array<{ tool: string, calls: number, bytesBefore: number, bytesAfter: number }> }
  const row = savings.tools.find(r => r.tool === 'user_summary')!
  t.equal(row.calls, 2, 'two intercepted calls of user_summary')
  t.ok(row.bytesBefore > 0 && row.bytesAfter > 0, 'sizes counted')
  const searchRow = savings.tools.find(r => r.tool === 'search')!
  t.ok(searchRow.bytesAfter < searchRow.bytesBefore, 'the `body` projection returned less than the upstream sent')
  t.notOk(savings.tools.some(r => r.tool === 'raw_echo'), 'a tool without a response chain is not counted')

  // The failing interceptor's message quoted the input and the argument: the log never does.
  const logs = gw.logs.join('\n')
  t.notOk(logs.includes(CANARY), 'no interceptor message (which quoted the payload) in any log line')
  const failedLine = gw.logs.map(line => JSON.parse(line) as Record<string, unknown>).find(line => line.tool === 'broken')
  t.match(failedLine, { errorKind: 'interceptor', interceptor: { interceptor: 'thrower', label: 'servers[0].tools[4].response[0]', kind: 'runtime', line: 3 } }, 'the log says which interceptor failed, how and where')
})

t.test('apply refuses bad interceptors with their path, line and column, and changes nothing', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig(documentFor(upstream.url))).status, 200)
  const before = await (await gw.admin('GET', '/config')).json()

  const bad = documentFor(upstream.url)
  bad.servers[0]!.tools[0]!.response![1] = { name: 'annotate', js: '(input) => {\n  return { a: 1,\n  }}}' }
  bad.servers[0]!.tools[1]!.request![1] = { name: 'tag', jmespath: '{q: q,' }
  ;(bad.servers[0]!.tools[2] as Record<string, unknown>).response = [{ jmespath: 'a', js: '(x) => x' }]
  ;(bad.servers[0]!.tools[3] as Record<string, unknown>).response = [{ jmespath: 'a', timeoutMs: 10 }]
  ;(bad.servers[0] as Record<string, unknown>).request = [{ name: 'dup', jmespath: '@' }, { name: 'dup', jmespath: '@' }]
  const refused = await gw.applyConfig(bad)
  t.equal(refused.status, 400)
  const body = await refused.json() as { error: { details: Array<{ path: string, message: string }> } }
  const byPath = new Map(body.error.details.map(p => [p.path, p.message]))
  t.match(byPath.get('servers[0].tools[0].response[1].js'), /^line 3, column \d+: /, 'a JS syntax error: its line and column')
  t.match(byPath.get('servers[0].tools[1].request[1].jmespath'), /column \d+/, 'a JMESPath syntax error: its position')
  t.match(byPath.get('servers[0].tools[2].response[0]'), /exactly one of "jmespath".*or "js"/)
  t.match(byPath.get('servers[0].tools[3].response[0].timeoutMs'), /js interceptors only/)
  t.match(byPath.get('servers[0].request[1].name'), /duplicate interceptor name "dup"/)
  t.same(await (await gw.admin('GET', '/config')).json(), before, 'the stored config is unchanged')
})

t.test('REST resources and export carry the interceptors', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const document = documentFor(upstream.url)
  t.equal((await gw.applyConfig(document)).status, 200)
  t.same(await (await gw.admin('GET', '/config')).json(), { variables: [], ...document }, 'GET /config returns the interceptors as applied (order, names, limits, empty chains)')

  const created = await gw.admin('POST', '/servers/shop/tools', {
    name: 'names_only', provider: 'mock', method: 'GET', path: '/array', response: [{ js: '(rows) => rows.map(r => r * 10)' }]
  })
  t.equal(created.status, 201, await created.clone().text())
  const tool = await (await gw.admin('GET', '/servers/shop/tools/names_only')).json() as Record<string, unknown>
  t.same(tool.response, [{ js: '(rows) => rows.map(r => r * 10)' }])
  const client = await gw.connect('shop', await gw.createKey())
  const result = await client.callTool({ name: 'names_only', arguments: {} }) as Result
  t.notOk(result.isError, textOf(result))
  t.same(JSON.parse(textOf(result)), [10, 20, 30], 'the new tool runs its interceptor')

  const refused = await gw.admin('PUT', '/servers/shop/tools/names_only', { name: 'names_only', provider: 'mock', method: 'GET', path: '/array', response: [{ js: 'function (' }] })
  t.equal(refused.status, 400, 'a REST edit with a syntax error is refused')
  t.match(await refused.text(), /response\[0\]\.js/)
})

t.test('the dry-run tester', async t => {
  const gw = await startTestGateway(t)
  const run = async (body: unknown) => {
    const response = await gw.admin('POST', '/interceptors/test', body)
    return { status: response.status, body: await response.json() as Record<string, any> }
  }
  const sample = { items: [{ id: 1, name: 'a', noise: 'x'.repeat(200) }, { id: 2, name: 'b', noise: 'y'.repeat(200) }] }

  const jmes = await run({ engine: 'jmespath', phase: 'response', code: 'items[].name', input: sample })
  t.equal(jmes.status, 200)
  t.same(jmes.body.output, ['a', 'b'])
  t.equal(jmes.body.ok, true)
  t.equal(jmes.body.bytesBefore, Buffer.byteLength(JSON.stringify(sample)))
  t.equal(jmes.body.bytesAfter, Buffer.byteLength('["a","b"]'))
  t.type(jmes.body.durationMs, 'number')

  const js = await run({ engine: 'js', phase: 'response', code: '(input, ctx) => input.items.map(i => `${ctx.tool}:${i.id}`)', input: sample, ctx: { tool: 'demo' } })
  t.same(js.body.output, ['demo:1', 'demo:2'], 'ctx given to the tester reaches the code')

  const thrown = await run({ engine: 'js', phase: 'response', code: 'x => {\n  return x.missing.deeper\n}', input: {} })
  t.equal(thrown.status, 200, 'a failing run is a report, not an HTTP error')
  t.equal(thrown.body.ok, false)
  t.equal(thrown.body.error.kind, 'runtime')
  t.equal(thrown.body.error.line, 2)

  const syntax = await run({ engine: 'jmespath', phase: 'response', code: 'items[', input: {} })
  t.equal(syntax.body.error.kind, 'syntax')
  const request = await run({ engine: 'jmespath', phase: 'request', code: 'items', input: sample })
  t.equal(request.body.error.kind, 'bad_output', 'request interceptors must return an object')

  const invalid = await run({ engine: 'lua', phase: 'response', code: 'x', input: {} })
  t.equal(invalid.status, 400, 'an unknown engine is a validation error')
  t.match(JSON.stringify(invalid.body), /engine/)
})

t.test('remote-mcp: the server chains run on forwarded calls', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig({
    servers: [{
      name: 'fx',
      kind: 'remote-mcp',
      url: fixture.url,
      transport: 'streamable-http',
      include: ['echo', 'alpha'],
      request: [{ js: '(input, ctx) => ctx.tool === "echo" ? { text: JSON.stringify({ said: input.text, extra: "x".repeat(100) }) } : input' }],
      response: [{ jmespath: 'said || @' }]
    }]
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const client = await gw.connect('fx', await gw.createKey())
  const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hi' } }) as Result
  t.notOk(echoed.isError, textOf(echoed))
  t.equal(textOf(echoed), 'hi', 'request JS wrapped the text as JSON upstream; response JMESPath unwrapped it')
  const alpha = await client.callTool({ name: 'alpha', arguments: {} }) as Result
  t.equal(textOf(alpha), 'alpha', 'a plain-text upstream result reaches JMESPath as a string')
  const savings = await (await gw.admin('GET', '/interceptors/savings?server=fx')).json() as { tools: Array<{ tool: string, bytesBefore: number, bytesAfter: number }> }
  const echo = savings.tools.find(r => r.tool === 'echo')!
  t.ok(echo.bytesAfter < echo.bytesBefore, 'savings counted for remote-mcp results too')
})
