// tools/list and tools/call end to end with the official MCP SDK client: result shaping per content
// type, upstream errors, timeouts (tool, provider, default), the response size cap (with and
// without content-length), argument validation, unknown tools and a dead upstream.
import t from 'tap'
import { createServer } from 'node:net'
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'

useTestCluster(t)

interface Content {
  type: string
  text?: string
  data?: string
  mimeType?: string
  resource?: { uri: string, mimeType?: string, blob?: string, text?: string }
}
interface Result {
  content: Content[]
  structuredContent?: Record<string, unknown>
  isError?: boolean
}

const object = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required })
const userOutput = object({ id: { type: 'string' }, name: { type: 'string' }, followers: { type: 'integer' } }, ['id', 'name'])

/** A loopback port with nothing listening on it. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

function documentFor (upstream: MockUpstream, deadPort: number) {
  const mock = 'mock'
  return {
    providers: [
      { name: mock, baseUrl: upstream.url },
      { name: 'slowish', baseUrl: upstream.url, timeoutMs: 150 },
      { name: 'dead', baseUrl: `http://127.0.0.1:${deadPort}` }
    ],
    servers: [{
      name: 'demo',
      title: 'Demo server',
      tools: [
        {
          name: 'get_user', title: 'Get a user', description: 'One user by id', provider: mock, method: 'GET', path: '/users/{id}',
          input: object({ id: { type: 'string' } }, ['id']), output: userOutput, annotations: { readOnlyHint: true }
        },
        { name: 'get_user_text', provider: mock, method: 'GET', path: '/users/{id}', input: object({ id: { type: 'string' } }, ['id']) },
        { name: 'get_array', provider: mock, method: 'GET', path: '/array', output: userOutput },
        { name: 'get_array_text', provider: mock, method: 'GET', path: '/array' },
        { name: 'mismatch', provider: mock, method: 'GET', path: '/users/{id}', input: object({ id: { type: 'string' } }, ['id']), output: object({ missing: { type: 'string' } }, ['missing']) },
        { name: 'empty', provider: mock, method: 'GET', path: '/empty' },
        { name: 'image', provider: mock, method: 'GET', path: '/image' },
        { name: 'audio', provider: mock, method: 'GET', path: '/audio' },
        { name: 'binary', provider: mock, method: 'GET', path: '/binary' },
        { name: 'text', provider: mock, method: 'GET', path: '/text' },
        { name: 'redirect', provider: mock, method: 'GET', path: '/redirect' },
        {
          name: 'status', provider: mock, method: 'GET', path: '/status/{code}',
          input: object({ code: { type: 'string' }, pad: { type: 'integer' }, text: { type: 'boolean' } }, ['code'])
        },
        {
          name: 'status_capped', provider: mock, method: 'GET', path: '/status/{code}', maxResponseBytes: 1000,
          input: object({ code: { type: 'string' }, pad: { type: 'integer' } }, ['code'])
        },
        { name: 'slow_tool', provider: mock, method: 'GET', path: '/slow', timeoutMs: 150, input: object({ ms: { type: 'integer' } }) },
        { name: 'slow_provider', provider: 'slowish', method: 'GET', path: '/slow', input: object({ ms: { type: 'integer' } }) },
        { name: 'slow_override', provider: 'slowish', method: 'GET', path: '/slow', timeoutMs: 250, input: object({ ms: { type: 'integer' } }) },
        {
          name: 'big', provider: mock, method: 'GET', path: '/big', maxResponseBytes: 1000,
          input: object({ bytes: { type: 'integer' }, length: { type: 'integer' } })
        },
        {
          name: 'typed', provider: mock, method: 'GET', path: '/echo/typed',
          input: object({ name: { type: 'string' }, count: { type: 'integer', minimum: 1 }, tags: { type: 'array', items: { type: 'string' } } }, ['name'])
        },
        { name: 'unreachable', provider: 'dead', method: 'GET', path: '/anything' }
      ]
    }]
  }
}

function firstText (result: Result): string {
  const text = result.content[0]?.text
  if (typeof text !== 'string') throw new Error(`expected text content, got ${JSON.stringify(result.content)}`)
  return text
}

let upstream: MockUpstream
let gw: TestGateway
let client: Client
const call = async (name: string, args: Record<string, unknown> = {}) => await client.callTool({ name, arguments: args }) as Result

t.before(async () => {
  upstream = await startMockUpstream()
  gw = await startTestGateway(t)
  const applied = await gw.applyConfig(documentFor(upstream, await closedPort()))
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  client = await gw.connect('demo', await gw.createKey())
})
t.teardown(() => upstream.close())

t.test('tools/list describes every tool with its schemas, title and annotations', async t => {
  const { tools } = await client.listTools()
  t.same(tools.map(tool => tool.name), documentFor(upstream, 1).servers[0]!.tools.map(tool => tool.name), 'all tools, in config order')
  const getUser = tools.find(tool => tool.name === 'get_user')!
  t.equal(getUser.title, 'Get a user')
  t.equal(getUser.description, 'One user by id')
  t.same(getUser.inputSchema, { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] })
  t.same(getUser.outputSchema, userOutput)
  t.same(getUser.annotations, { readOnlyHint: true })
  const image = tools.find(tool => tool.name === 'image')!
  t.same(image.inputSchema, { type: 'object', properties: {} }, 'a tool without input gets an empty object schema')
  t.notOk('outputSchema' in image, 'no output schema when none is configured')
  t.notOk('title' in image, 'no title when none is configured')
  t.equal(client.getServerVersion()?.name, 'toolgate/demo')
})

t.test('JSON from a tool with an output schema is text plus structuredContent', async t => {
  const result = await call('get_user', { id: 'ada' })
  t.notOk(result.isError)
  t.same(result.structuredContent, { id: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', followers: 42 })
  t.same(JSON.parse(firstText(result)), result.structuredContent, 'the text is the same JSON')
  t.equal(upstream.requests.at(-1)!.url, '/users/ada')
})

t.test('JSON from a tool without an output schema is text only', async t => {
  const result = await call('get_user_text', { id: 'grace' })
  t.notOk(result.isError)
  t.notOk('structuredContent' in result)
  t.equal(JSON.parse(firstText(result)).id, 'grace')
  const array = await call('get_array_text')
  t.notOk(array.isError)
  t.same(JSON.parse(firstText(array)), [1, 2, 3])
})

t.test('an upstream answer that cannot be structured content for the output schema is an error result', async t => {
  const array = await call('get_array')
  t.equal(array.isError, true, 'a JSON array cannot satisfy an object output schema')
  t.equal(firstText(array), 'Upstream response is not a JSON object (application/json, 7 bytes), but the tool declares an output schema: [1,2,3]')
  t.notOk('structuredContent' in array)
  const empty = await call('empty')
  t.notOk(empty.isError, '204 without an output schema is a success')
  t.same(empty.content, [{ type: 'text', text: '' }])
})

t.test('an upstream object that does not match the output schema is an error result, not a protocol violation', async t => {
  const result = await call('mismatch', { id: 'ada' })
  t.equal(result.isError, true)
  t.match(firstText(result), /missing/, 'names the property the upstream answer lacks')
})

t.test('binary content types become the matching MCP content', async t => {
  const image = await call('image')
  t.notOk(image.isError)
  t.equal(image.content.length, 1)
  t.equal(image.content[0]!.type, 'image')
  t.equal(image.content[0]!.mimeType, 'image/png')
  t.equal(Buffer.from(image.content[0]!.data!, 'base64').subarray(1, 4).toString('latin1'), 'PNG', 'the PNG bytes, base64')

  const audio = await call('audio')
  t.same(audio.content, [{ type: 'audio', mimeType: 'audio/wav', data: Buffer.from('RIFF0000WAVE').toString('base64') }])

  const binary = await call('binary')
  t.equal(binary.content[0]!.type, 'resource')
  t.equal(binary.content[0]!.resource!.mimeType, 'application/octet-stream')
  t.same([...Buffer.from(binary.content[0]!.resource!.blob!, 'base64')], [0, 1, 2, 3, 255])
  t.equal(binary.content[0]!.resource!.uri, 'toolgate://demo/tools/binary/result')

  const text = await call('text')
  t.same(text.content, [{ type: 'text', text: 'hello, plain text' }])
  t.notOk(text.isError)
})

t.test('upstream 4xx and 5xx are error results with the status and a bounded excerpt', async t => {
  const notFound = await call('status', { code: '404' })
  t.equal(notFound.isError, true)
  t.match(firstText(notFound), /^Upstream responded 404 Not Found: /)
  t.match(firstText(notFound), '"error":"status 404"', 'the body excerpt')

  const failed = await call('status', { code: '500', text: true })
  t.equal(failed.isError, true)
  t.equal(firstText(failed), 'Upstream responded 500 Internal Server Error: plain failure 500')

  const huge = await call('status', { code: '502', pad: 200_000 })
  t.equal(huge.isError, true)
  const text = firstText(huge)
  t.match(text, /^Upstream responded 502 Bad Gateway: \{"error":"status 502","detail":"xxx/)
  t.ok(text.length < 2300, `the excerpt is bounded (${text.length} characters for a 200 kB body)`)
  t.match(text, /… \(197\d{3} more bytes\)$/, 'says how much was left out')

  const capped = await call('status_capped', { code: '503', pad: 50_000 })
  t.equal(capped.isError, true)
  t.match(firstText(capped), /^Upstream responded 503 Service Unavailable: \{"error":"status 503","detail":"xxx/, 'an error body over maxResponseBytes still reports the status')
  t.match(firstText(capped), /… \(body cut off after \d+ bytes\)$/)
  t.notOk((await call('get_user_text', { id: 'after-capped' })).isError, 'the gateway keeps serving')
})

t.test('a slow upstream is cut off at the tool, provider or default timeout', async t => {
  const tool = await call('slow_tool', { ms: 60_000 })
  t.equal(tool.isError, true)
  t.match(firstText(tool), /did not answer within 150 ms/)
  t.match(firstText(tool), /slow_tool/)

  const provider = await call('slow_provider', { ms: 60_000 })
  t.equal(provider.isError, true)
  t.match(firstText(provider), /did not answer within 150 ms/, 'the provider timeout applies')

  const override = await call('slow_override', { ms: 60_000 })
  t.match(firstText(override), /did not answer within 250 ms/, 'a tool timeout beats the provider timeout')

  const next = await call('get_user_text', { id: 'after-timeouts' })
  t.notOk(next.isError, 'the gateway keeps serving')
})

t.test('an oversized response is an error result, with or without content-length', async t => {
  const declared = await call('big', { bytes: 50_000, length: 1 })
  t.equal(declared.isError, true)
  t.match(firstText(declared), /too large/)
  t.match(firstText(declared), /1000 bytes/)

  const streamed = await call('big', { bytes: 200_000 })
  t.equal(streamed.isError, true)
  t.match(firstText(streamed), /too large/)

  const fits = await call('big', { bytes: 1000 })
  t.notOk(fits.isError, 'exactly the limit is fine')
  t.equal(firstText(fits), 'a'.repeat(1000))

  const next = await call('get_user', { id: 'after-big' })
  t.notOk(next.isError, 'the gateway keeps serving')
  t.equal(next.structuredContent?.id, 'after-big')
})

t.test('invalid arguments are error results naming the field; nothing goes upstream', async t => {
  const before = upstream.requests.length
  const wrongType = await call('typed', { name: 'x', count: 'three' })
  t.equal(wrongType.isError, true)
  t.match(firstText(wrongType), /Invalid arguments for tool typed: count: must be integer/)

  const missing = await call('typed', { count: 2 })
  t.equal(missing.isError, true)
  t.match(firstText(missing), /name: is required/)

  const nested = await call('typed', { name: 'x', tags: ['ok', 7] })
  t.match(firstText(nested), /tags\[1\]: must be string/, 'names the array item')

  const range = await call('typed', { name: 'x', count: 0 })
  t.match(firstText(range), /count: must be >= 1/)
  t.equal(upstream.requests.length, before, 'no invalid call reached the upstream')

  const fine = await call('typed', { name: 'x', count: 2, tags: ['a', 'b'] })
  t.notOk(fine.isError)
  t.equal(upstream.requests.at(-1)!.url, '/echo/typed?name=x&count=2&tags=a&tags=b')
})

t.test('an unknown tool is a JSON-RPC invalid-params error', async t => {
  const error = await client.callTool({ name: 'no_such_tool', arguments: {} }).catch((err: unknown) => err)
  t.ok(error instanceof McpError, 'the SDK raises an McpError')
  t.equal((error as McpError).code, ErrorCode.InvalidParams)
  t.match((error as McpError).message, /Unknown tool: no_such_tool/)
})

t.test('a dead upstream is an error result and the gateway keeps serving', async t => {
  const dead = await call('unreachable')
  t.equal(dead.isError, true)
  t.match(firstText(dead), /Upstream unreachable for tool unreachable \(ECONNREFUSED\)/)
  t.notOk((await call('get_user_text', { id: 'after-dead' })).isError)
})

t.test('each call logs one request line with the tool, upstream status and error kind', async t => {
  const requestLines = () => gw.logs.map(line => JSON.parse(line)).filter(entry => entry.msg === 'request' && entry.rpcMethod === 'tools/call')
  const seen = requestLines().length
  await call('status', { code: '404' })
  await call('slow_tool', { ms: 60_000 })
  await call('big', { bytes: 50_000, length: 1 })
  await call('typed', { name: 7 })
  await call('get_array')
  await call('get_user', { id: 'logged' })
  const lines = requestLines().slice(seen)
  t.equal(lines.length, 6, 'one line per call')
  t.match(lines, [
    { server: 'demo', tool: 'status', status: 200, upstreamStatus: 404, errorKind: 'upstream_status' },
    { tool: 'slow_tool', errorKind: 'timeout' },
    { tool: 'big', upstreamStatus: 200, errorKind: 'too_large' },
    { tool: 'typed', errorKind: 'invalid_arguments' },
    { tool: 'get_array', upstreamStatus: 200, errorKind: 'invalid_output' },
    { tool: 'get_user', upstreamStatus: 200, upstreamBytes: Number }
  ])
  t.notOk('errorKind' in lines.at(-1)!, 'a success has no error kind')
  t.notOk(lines.some(line => JSON.stringify(line).includes('logged')), 'no argument value in the log line')
})

t.test('the default timeout and size cap come from the environment', async t => {
  const other = await startTestGateway(t, { TOOLGATE_UPSTREAM_TIMEOUT_MS: '200', TOOLGATE_MAX_RESPONSE_BYTES: '2000' })
  const applied = await other.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{
      name: 'defaults',
      tools: [
        { name: 'slow', provider: 'mock', method: 'GET', path: '/slow', input: object({ ms: { type: 'integer' } }) },
        // Its own timeout, so only the slow tool depends on the short default.
        { name: 'big', provider: 'mock', method: 'GET', path: '/big', timeoutMs: 30_000, input: object({ bytes: { type: 'integer' } }) }
      ]
    }]
  })
  t.equal(applied.status, 200)
  const defaults = await other.connect('defaults', await other.createKey())
  const slow = await defaults.callTool({ name: 'slow', arguments: { ms: 60_000 } }) as Result
  t.equal(slow.isError, true)
  t.match(firstText(slow), /did not answer within 200 ms/)
  const big = await defaults.callTool({ name: 'big', arguments: { bytes: 5000 } }) as Result
  t.equal(big.isError, true)
  t.match(firstText(big), /more than 2000 bytes/)
  const small = await defaults.callTool({ name: 'big', arguments: { bytes: 100 } }) as Result
  t.notOk(small.isError)
})

t.test('an upstream redirect is not followed: an error result naming the status and target', async t => {
  const before = upstream.requests.length
  const result = await call('redirect')
  t.equal(result.isError, true)
  t.match(firstText(result), /^Upstream responded 302 Found \(redirect to http:\/\/127\.0\.0\.2:1\/elsewhere not followed\)/)
  t.equal(upstream.requests.length, before + 1, 'exactly one upstream request: the redirect was not followed')
})
