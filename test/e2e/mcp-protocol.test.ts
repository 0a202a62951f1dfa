// The Streamable HTTP transport and JSON-RPC layer of /mcp/:server: error codes, sessions, origin
// checks, JSON vs SSE replies, notifications, batches (2025-03-26 only), version negotiation and
// era differences, and the methods the endpoint does not offer.
import t from 'tap'
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { initializeMessage, mcpRaw, rawSession, type RawOptions } from '../helpers/mcp-raw.ts'

useTestCluster(t)

const ALLOWED_ORIGIN = 'http://console.example.test'
const LATEST = '2025-11-25'

let upstream: MockUpstream
let gw: TestGateway
let key: string

t.before(async () => {
  upstream = await startMockUpstream()
  gw = await startTestGateway(t, { TOOLGATE_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}/`, TOOLGATE_MAX_REQUEST_BYTES: '4096' })
  const applied = await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{
      name: 'proto',
      title: 'Protocol server',
      instructions: 'Use get_user to look people up.',
      tools: [{
        name: 'get_user', title: 'Get a user', provider: 'mock', method: 'GET', path: '/users/{id}',
        input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        output: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
      }]
    }]
  })
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  key = await gw.createKey()
})
t.teardown(() => upstream.close())

const post = (body: unknown, options: RawOptions = {}) => mcpRaw(gw.url, 'proto', body, { key, ...options })
const request = (method: string, params?: Record<string, unknown>, id: number | string = 7) =>
  params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }

async function session (version = LATEST): Promise<RawOptions> {
  const { session, version: negotiated } = await rawSession(gw.url, 'proto', key, version)
  return { session, version: negotiated }
}

t.test('the SDK client negotiates the latest version and pings', async t => {
  const client = await gw.connect('proto', key)
  t.equal(client.getServerVersion()?.name, 'toolgate/proto')
  t.equal(client.getServerVersion()?.title, 'Protocol server')
  t.equal(client.getInstructions(), 'Use get_user to look people up.')
  t.same(client.getServerCapabilities(), { tools: { listChanged: true } })
  t.same(await client.ping(), {})
})

t.test('initialize answers the client version when supported, else the latest', async t => {
  for (const [asked, answered] of [['2025-11-25', '2025-11-25'], ['2025-06-18', '2025-06-18'], ['2025-03-26', '2025-03-26'], ['2024-11-05', '2024-11-05'], ['1999-01-01', LATEST], ['2026-07-28', LATEST]]) {
    const reply = await post(initializeMessage(asked!, `init-${asked}`))
    t.equal(reply.status, 200, `initialize ${asked}`)
    t.equal(reply.json.id, `init-${asked}`)
    t.equal(reply.json.result.protocolVersion, answered, `${asked} → ${answered}`)
    t.same(reply.json.result.capabilities, { tools: { listChanged: true } })
    t.ok(reply.headers.get('mcp-session-id'), 'a session id is issued')
  }
  const old = await post(initializeMessage('2025-03-26'))
  t.same(old.json.result.serverInfo, { name: 'toolgate/proto', version: '0.1.0' }, 'no title before 2025-06-18')
})

t.test('2025-03-26 sessions see no title, outputSchema or structuredContent', async t => {
  const legacy = await session('2025-03-26')
  const list = await post(request('tools/list'), legacy)
  t.same(list.json.result.tools, [{ name: 'get_user', inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } }])
  const call = await post(request('tools/call', { name: 'get_user', arguments: { id: 'ada' } }), legacy)
  t.notOk(call.json.result.isError)
  t.notOk('structuredContent' in call.json.result)
  t.equal(JSON.parse(call.json.result.content[0].text).id, 'ada')

  const modern = await session('2025-06-18')
  const modernList = await post(request('tools/list'), modern)
  t.equal(modernList.json.result.tools[0].title, 'Get a user')
  t.ok(modernList.json.result.tools[0].outputSchema)
  const modernCall = await post(request('tools/call', { name: 'get_user', arguments: { id: 'ada' } }), modern)
  t.equal(modernCall.json.result.structuredContent.id, 'ada')
})

t.test('a body that is not JSON is a 400 parse error (-32700)', async t => {
  for (const body of ['{"jsonrpc": "2.0", "id": 1, "method":', 'not json', '']) {
    const reply = await post(body, await session())
    t.equal(reply.status, 400, `body ${JSON.stringify(body)}`)
    t.match(reply.json, { jsonrpc: '2.0', id: null, error: { code: ErrorCode.ParseError } })
  }
  const noSession = await post('{')
  t.equal(noSession.json.error.code, ErrorCode.ParseError, 'reported before the session check')
})

t.test('malformed JSON-RPC is a 400 invalid request (-32600)', async t => {
  const s = await session()
  const noVersion = await post({ id: 3, method: 'ping' }, s)
  t.equal(noVersion.status, 400)
  t.match(noVersion.json, { id: 3, error: { code: ErrorCode.InvalidRequest, message: /jsonrpc must be "2.0"/ } })
  const badParams = await post({ jsonrpc: '2.0', id: 4, method: 'ping', params: [1] }, s)
  t.match(badParams.json, { id: 4, error: { code: ErrorCode.InvalidRequest, message: /params must be an object/ } })
  const nullId = await post({ jsonrpc: '2.0', id: null, method: 'ping' }, s)
  t.match(nullId.json, { id: null, error: { code: ErrorCode.InvalidRequest } })
  const scalar = await post(42, s)
  t.equal(scalar.status, 400)
  t.equal(scalar.json.error.code, ErrorCode.InvalidRequest)
  const brokenInitialize = await post({ jsonrpc: '2.0', id: 5, method: 'initialize', params: [LATEST] })
  t.equal(brokenInitialize.status, 400)
  t.match(brokenInitialize.json, { id: 5, error: { code: ErrorCode.InvalidRequest, message: /params must be an object/ } }, 'reported before the session check')
})

t.test('unknown methods are -32601; bad tools/call params are -32602', async t => {
  const client = await gw.connect('proto', key)
  const error = await client.listResources().catch((err: unknown) => err)
  t.ok(error instanceof McpError)
  t.equal((error as McpError).code, ErrorCode.MethodNotFound)

  const s = await session()
  const raw = await post(request('no/such/method'), s)
  t.equal(raw.status, 200, 'a JSON-RPC error in a successful HTTP exchange')
  t.match(raw.json, { jsonrpc: '2.0', id: 7, error: { code: ErrorCode.MethodNotFound, message: 'Method not found: no/such/method' } })
  const noName = await post(request('tools/call', { arguments: {} }), s)
  t.equal(noName.json.error.code, ErrorCode.InvalidParams)
  const arrayArgs = await post(request('tools/call', { name: 'get_user', arguments: ['ada'] }), s)
  t.equal(arrayArgs.json.error.code, ErrorCode.InvalidParams)
  const unknown = await post(request('tools/call', { name: 'nope', arguments: {} }), s)
  t.match(unknown.json.error, { code: ErrorCode.InvalidParams, message: 'Unknown tool: nope' })
})

t.test('sessions: required after initialize, bound to the API key, tamper-proof', async t => {
  const missing = await post(request('tools/list'))
  t.equal(missing.status, 400)
  t.match(missing.json.error, { code: ErrorCode.InvalidRequest, message: /Missing Mcp-Session-Id/ })

  const s = await session()
  const otherKey = await gw.createKey({ endUser: 'mallory' })
  const foreign = await post(request('tools/list'), { ...s, key: otherKey })
  t.equal(foreign.status, 404, 'a session of another API key is unknown')
  t.match(foreign.json.error.message, /Unknown session/)

  const [payload, mac] = s.session!.split('.')
  const tampered = await post(request('tools/list'), { ...s, session: `${payload}.${mac!.slice(0, -2)}AA` })
  t.equal(tampered.status, 404, 'a session id with a wrong signature is unknown')
  const garbage = await post(request('tools/list'), { ...s, session: 'garbage' })
  t.equal(garbage.status, 404)

  const ok = await post(request('tools/list'), s)
  t.equal(ok.status, 200)
  t.equal(ok.json.result.tools[0].name, 'get_user')
})

t.test('MCP-Protocol-Version must be a supported one', async t => {
  const s = await session('2025-06-18')
  const unsupported = await post(request('ping'), { ...s, version: '2030-01-01' })
  t.equal(unsupported.status, 400)
  t.match(unsupported.json.error, { code: -32022, message: /Unsupported protocol version "2030-01-01"/, data: { requested: '2030-01-01', supported: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] } })
  t.equal(unsupported.json.id, 7, 'the error carries the request id')
  const unknownOld = await post(request('ping'), { ...s, version: '2024-10-07' })
  t.equal(unknownOld.status, 400)
  t.match(unknownOld.json.error, { code: ErrorCode.InvalidRequest, message: /Unsupported MCP-Protocol-Version "2024-10-07"/ })
  const other = await post(request('tools/list'), { ...s, version: '2025-03-26' })
  t.equal(other.status, 200, 'another supported version is accepted on the session')
  t.ok(other.json.result.tools[0].outputSchema, "answers keep the session's (2025-06-18) shape")
  const { version: _, ...withoutHeader } = s
  t.equal((await post(request('ping'), withoutHeader)).status, 200, 'the header may be left out')
})

t.test('Origin: a foreign one is 403, configured ones and none are fine', async t => {
  for (const origin of ['http://evil.example', 'null', `${ALLOWED_ORIGIN}.evil.example`]) {
    const reply = await post(initializeMessage(LATEST), { headers: { origin } })
    t.equal(reply.status, 403, `Origin ${origin}`)
    t.match(reply.json, { jsonrpc: '2.0', id: null, error: { message: 'Origin not allowed' } })
    t.notOk(reply.headers.get('mcp-session-id'))
  }
  const noKey = await mcpRaw(gw.url, 'proto', initializeMessage(LATEST), { headers: { origin: 'http://evil.example' } })
  t.equal(noKey.status, 403, 'checked before the key')
  const allowed = await post(initializeMessage(LATEST), { headers: { origin: ALLOWED_ORIGIN } })
  t.equal(allowed.status, 200, 'an origin from TOOLGATE_ALLOWED_ORIGINS (trailing slash ignored) is allowed')
  t.equal((await post(initializeMessage(LATEST))).status, 200, 'no Origin (not a browser) is allowed')
})

t.test('Accept: text/event-stream alone gets SSE framing; otherwise JSON', async t => {
  const init = await post(initializeMessage(LATEST), { accept: 'text/event-stream' })
  t.equal(init.status, 200)
  t.match(init.headers.get('content-type'), /^text\/event-stream/)
  t.match(init.text, /^event: message\ndata: \{.*\}\n\n$/)
  t.equal(init.json.result.protocolVersion, LATEST)
  t.ok(init.headers.get('mcp-session-id'))

  const s = await session()
  const call = await post(request('tools/call', { name: 'get_user', arguments: { id: 'sse' } }), { ...s, accept: 'text/event-stream' })
  t.match(call.headers.get('content-type'), /^text\/event-stream/)
  t.equal(call.text.split('\n').filter(line => line.startsWith('data: ')).length, 1, 'one event carries the whole response')
  t.equal(call.json.result.structuredContent.id, 'sse')

  const error = await post('{', { ...s, accept: 'text/event-stream' })
  t.equal(error.status, 400)
  t.match(error.text, /^event: message\ndata: /, 'errors are framed too')
  t.equal(error.json.error.code, ErrorCode.ParseError)

  const both = await post(request('ping'), s)
  t.match(both.headers.get('content-type'), /^application\/json/, 'JSON when the client accepts both')
  t.same(both.json, { jsonrpc: '2.0', id: 7, result: {} })
})

t.test('notifications and client responses are 202 with no body', async t => {
  const s = await session()
  const notification = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, s)
  t.equal(notification.status, 202)
  t.equal(notification.text, '')
  const unknownNotification = await post({ jsonrpc: '2.0', method: 'notifications/whatever' }, s)
  t.equal(unknownNotification.status, 202, 'unknown notifications are ignored')
  const response = await post({ jsonrpc: '2.0', id: 'server-1', result: {} }, s)
  t.equal(response.status, 202)
})

t.test('batches are accepted only in 2025-03-26', async t => {
  const legacy = await session('2025-03-26')
  const batch = await post([
    request('ping', undefined, 1),
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    request('tools/call', { name: 'get_user', arguments: { id: 'b' } }, 2),
    request('nope', undefined, 3),
    { jsonrpc: '2.0', id: 4 },
    initializeMessage(LATEST, 5)
  ], legacy)
  t.equal(batch.status, 200)
  t.ok(Array.isArray(batch.json), 'an array of responses')
  const byId = new Map((batch.json as Array<{ id: number }>).map(answer => [answer.id, answer]))
  t.equal(batch.json.length, 5, 'one answer per request, none for the notification')
  t.same(byId.get(1), { jsonrpc: '2.0', id: 1, result: {} })
  t.equal(JSON.parse((byId.get(2) as any).result.content[0].text).id, 'b')
  t.equal((byId.get(3) as any).error.code, ErrorCode.MethodNotFound)
  t.equal((byId.get(4) as any).error.code, ErrorCode.InvalidRequest)
  t.equal((byId.get(5) as any).error.code, ErrorCode.InvalidRequest, 'initialize cannot be batched')

  const onlyNotifications = await post([{ jsonrpc: '2.0', method: 'notifications/initialized' }], legacy)
  t.equal(onlyNotifications.status, 202)
  const empty = await post([], legacy)
  t.equal(empty.status, 400)
  t.equal(empty.json.error.code, ErrorCode.InvalidRequest)

  for (const version of ['2025-06-18', LATEST]) {
    const rejected = await post([request('ping', undefined, 1)], await session(version))
    t.equal(rejected.status, 400, `no batches in ${version}`)
    t.match(rejected.json.error, { code: ErrorCode.InvalidRequest, message: `JSON-RPC batches are not part of MCP ${version}` })
  }
})

t.test('DELETE ends the session everywhere; a later use is 404; GET and DELETE are 405 for 2026-07-28', async t => {
  const s = await session()
  t.equal((await post(request('tools/list'), s)).status, 200)
  const deleted = await mcpRaw(gw.url, 'proto', undefined, { method: 'DELETE', key, session: s.session!, version: s.version! })
  t.equal(deleted.status, 204, 'DELETE ends the session')
  const after = await post(request('tools/list'), s)
  t.equal(after.status, 404, 'a terminated session is unknown')
  t.match(after.json.error, { message: /Unknown session/ })
  t.equal((await mcpRaw(gw.url, 'proto', undefined, { method: 'DELETE', key, session: s.session! })).status, 404, 'and cannot be ended twice')
  t.equal((await mcpRaw(gw.url, 'proto', undefined, { method: 'DELETE', key })).status, 400, 'DELETE without a session id is 400')

  for (const method of ['GET', 'DELETE']) {
    const reply = await mcpRaw(gw.url, 'proto', undefined, { method, key, version: '2026-07-28', accept: 'text/event-stream' })
    t.equal(reply.status, 405, `${method} with MCP-Protocol-Version 2026-07-28`)
    t.equal(reply.headers.get('allow'), 'POST')
  }
  const unauthenticated = await mcpRaw(gw.url, 'proto', undefined, { method: 'GET' })
  t.equal(unauthenticated.status, 401, 'the key is checked first')

  const client = await gw.connect('proto', key)
  const transport = client.transport as StreamableHTTPClientTransport
  await transport.terminateSession()
  t.equal(transport.sessionId, undefined, 'the SDK client ends its session')
})

t.test('wrong content types and oversized bodies are refused with JSON-RPC errors', async t => {
  const s = await session()
  const text = await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { ...s, contentType: 'text/plain' })
  t.equal(text.status, 415)
  t.equal(text.json.error.code, ErrorCode.InvalidRequest)
  const charset = await post(request('ping'), { ...s, contentType: 'application/json; charset=utf-8' })
  t.equal(charset.status, 200, 'a charset parameter is fine')
  const big = await post(request('tools/call', { name: 'get_user', arguments: { id: 'x'.repeat(10_000) } }), s)
  t.equal(big.status, 413)
  t.equal(big.json.error.code, ErrorCode.InvalidRequest)
  t.equal((await post(request('ping'), s)).status, 200, 'the gateway keeps serving')
})
