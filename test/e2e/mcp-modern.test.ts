// MCP 2026-07-28 on the same endpoint as the 2025 eras: stateless requests with the `_meta`
// envelope, server/discover, the routing headers checked against the body, resultType and cache
// hints, removed methods as 404, subscriptions/listen, and the official v2 SDK client.
import t from 'tap'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { mcpRaw } from '../helpers/mcp-raw.ts'
import { openSse } from '../helpers/sse.ts'

useTestCluster(t)

const MODERN = '2026-07-28'
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'modern-test', version: '1.0.0' }
}

let upstream: MockUpstream
let gw: TestGateway
let key: string

const config = (extraTool = false) => ({
  providers: [{ name: 'mock', baseUrl: upstream.url }],
  servers: [{
    name: 'modern',
    title: 'Modern server',
    instructions: 'Stateless.',
    tools: [
      {
        name: 'get_user', provider: 'mock', method: 'GET', path: '/users/{id}',
        input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        output: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
      },
      { name: 'echo', provider: 'mock', method: 'POST', path: '/echo', input: { type: 'object', properties: { note: { type: 'string' } } } },
      ...(extraTool ? [{ name: 'added_later', provider: 'mock', method: 'GET', path: '/echo/later' }] : [])
    ]
  }]
})

t.before(async () => {
  upstream = await startMockUpstream()
  gw = await startTestGateway(t)
  const applied = await gw.applyConfig(config())
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  key = await gw.createKey()
})
t.teardown(() => upstream.close())

/** A 2026-07-28 request with the headers a conforming client sends; `headers` overrides them. */
function modern (method: string, params: Record<string, unknown> = {}, options: { id?: number | string, headers?: Record<string, string>, meta?: Record<string, unknown> | null } = {}) {
  const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined
  const headers: Record<string, string> = { 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}), ...options.headers }
  const meta = options.meta === null ? {} : { _meta: options.meta ?? ENVELOPE }
  return mcpRaw(gw.url, 'modern', { jsonrpc: '2.0', id: options.id ?? 1, method, params: { ...params, ...meta } }, { key, headers })
}

t.test('server/discover: versions, capabilities, identity, and the result fields of the era', async t => {
  const reply = await modern('server/discover')
  t.equal(reply.status, 200)
  t.notOk(reply.headers.get('mcp-session-id'), 'no session in the stateless era')
  const result = reply.json.result
  t.same(result.supportedVersions, [MODERN])
  t.same(result.capabilities, { tools: { listChanged: true } })
  t.equal(result.instructions, 'Stateless.')
  t.same(result._meta['io.modelcontextprotocol/serverInfo'], { name: 'toolgate/modern', version: '0.1.0', title: 'Modern server' })
  t.equal(result.resultType, 'complete')
  t.equal(result.cacheScope, 'private')
  t.equal(result.ttlMs, 0)

  const noClientInfo = await modern('server/discover', {}, { meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } })
  t.equal(noClientInfo.status, 200, 'clientInfo is optional')
})

t.test('tools/list and tools/call need no session and carry resultType', async t => {
  const list = await modern('tools/list')
  t.equal(list.status, 200)
  t.same(list.json.result.tools.map((tool: { name: string }) => tool.name), ['get_user', 'echo'], 'config order, every time')
  t.match(list.json.result, { resultType: 'complete', ttlMs: 0, cacheScope: 'private' })
  t.ok(list.json.result.tools[0].outputSchema, 'the modern era sees output schemas')

  const call = await modern('tools/call', { name: 'get_user', arguments: { id: 'u 1' } })
  t.equal(call.status, 200)
  t.equal(call.json.result.resultType, 'complete')
  t.match(call.json.result.structuredContent, { id: 'u 1' }, 'structured content present')
  t.notOk(call.json.result.isError, JSON.stringify(call.json.result.content))
  t.notOk('ttlMs' in call.json.result, 'tool results are not cacheable')
  t.ok(upstream.requests.some(r => r.url === '/users/u%201'), 'the upstream was called')

  const base64Name = await modern('tools/call', { name: 'echo', arguments: {} }, { headers: { 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` } })
  t.equal(base64Name.status, 200, 'Mcp-Name may be base64-encoded')
})

t.test('a bad or missing envelope is 400 with -32602, echoing the request id', async t => {
  for (const [label, meta] of [
    ['no _meta', null],
    ['no protocolVersion', { 'io.modelcontextprotocol/clientCapabilities': {} }],
    ['no clientCapabilities', { 'io.modelcontextprotocol/protocolVersion': MODERN }],
    ['clientCapabilities not an object', { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': 'all' }]
  ] as const) {
    const reply = await modern('server/discover', {}, { id: 101, meta: meta as Record<string, unknown> | null })
    t.equal(reply.status, 400, label)
    t.equal(reply.json.error.code, -32602, label)
    t.equal(reply.json.id, 101, `${label}: id echoed`)
  }
})

t.test('routing headers must be present and agree with the body (-32020)', async t => {
  const cases: Array<[string, Promise<Awaited<ReturnType<typeof modern>>>]> = [
    ['version header differs from _meta', modern('server/discover', {}, { headers: { 'mcp-protocol-version': '2025-11-25' } })],
    ['Mcp-Method differs', modern('tools/list', {}, { headers: { 'mcp-method': 'prompts/list' } })],
    ['Mcp-Method missing', mcpRaw(gw.url, 'modern', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } }, { key, headers: { 'mcp-protocol-version': MODERN } })],
    ['version header missing', mcpRaw(gw.url, 'modern', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } }, { key, headers: { 'mcp-method': 'tools/list' } })],
    ['Mcp-Name differs', modern('tools/call', { name: 'get_user', arguments: { id: '1' } }, { headers: { 'mcp-name': 'echo' } })],
    ['Mcp-Name missing', mcpRaw(gw.url, 'modern', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: ENVELOPE } }, { key, headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call' } })],
    ['Mcp-Name bad base64', modern('tools/call', { name: 'echo' }, { headers: { 'mcp-name': '=?base64?!!!?=' } })]
  ]
  for (const [label, pending] of cases) {
    const reply = await pending
    t.equal(reply.status, 400, label)
    t.equal(reply.json.error?.code, -32020, `${label}: ${reply.json.error?.message}`)
  }
  const before = upstream.requests.length
  await modern('tools/call', { name: 'get_user', arguments: { id: '1' } }, { headers: { 'mcp-name': 'echo' } })
  t.equal(upstream.requests.length, before, 'a mismatched call never reaches the upstream')
})

t.test('an unknown version is 400 -32022 listing the supported ones and echoing the request', async t => {
  const reply = await modern('server/discover', {}, { id: 301, headers: { 'mcp-protocol-version': 'v999.0.0' }, meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } })
  t.equal(reply.status, 400)
  t.match(reply.json, { id: 301, error: { code: -32022, data: { supported: [MODERN], requested: 'v999.0.0' } } })
  const mismatch = await modern('server/discover', {}, { id: 302, meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } })
  t.equal(mismatch.status, 400)
  t.equal(mismatch.json.error.code, -32020, 'a header that names another version is a mismatch first')
})

t.test('removed and unknown methods are HTTP 404 with -32601; batches are refused', async t => {
  for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'unknown/method', 'prompts/list', 'resources/list']) {
    const reply = await modern(method, {}, { id: 500 })
    t.equal(reply.status, 404, method)
    t.match(reply.json, { id: 500, error: { code: -32601 } }, method)
  }
  const batch = await mcpRaw(gw.url, 'modern', [{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } }], { key, headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' } })
  t.equal(batch.status, 400)
  t.equal(batch.json.error.code, -32600)
  const legacyInitialize = await mcpRaw(gw.url, 'modern', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, { key, headers: { 'mcp-protocol-version': MODERN } })
  t.equal(legacyInitialize.status, 400, 'initialize with a 2026 header is a mismatch')
  t.equal(legacyInitialize.json.error.code, -32020)
})

t.test('subscriptions/listen: acknowledged first, filtered, tagged with the subscription id', async t => {
  const listen = (id: number, notifications: Record<string, unknown>) => openSse(`${gw.url}/mcp/modern`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications, _meta: ENVELOPE } })
  })
  const tools = await listen(71, { toolsListChanged: true, promptsListChanged: true })
  t.teardown(() => tools.close())
  t.equal(tools.response.headers.get('content-type'), 'text/event-stream')
  t.equal(tools.response.headers.get('x-accel-buffering'), 'no')
  const ack = await tools.next()
  t.match(ack?.json, { method: 'notifications/subscriptions/acknowledged', params: { notifications: { toolsListChanged: true }, _meta: { 'io.modelcontextprotocol/subscriptionId': 71 } } })
  t.notOk('promptsListChanged' in ack?.json.params.notifications, 'only what the server offers is honoured')

  const promptsOnly = await listen(72, { promptsListChanged: true })
  t.teardown(() => promptsOnly.close())
  t.match((await promptsOnly.next())?.json, { method: 'notifications/subscriptions/acknowledged', params: { notifications: {} } })
  t.match((await promptsOnly.next())?.json, { id: 72, result: { resultType: 'complete', _meta: { 'io.modelcontextprotocol/subscriptionId': 72 } } }, 'nothing to deliver: the subscription completes')

  const started = Date.now()
  t.equal((await gw.applyConfig(config(true))).status, 200)
  const change = await tools.next(3000)
  t.match(change?.json, { method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 71 } } })
  t.ok(Date.now() - started < 1000, `list_changed within a second (${Date.now() - started} ms)`)
  t.same((await modern('tools/list')).json.result.tools.map((tool: { name: string }) => tool.name), ['get_user', 'echo', 'added_later'])
})

t.test('the official v2 SDK client speaks 2026-07-28 to Toolgate, pinned and by negotiation', async t => {
  for (const mode of [{ pin: MODERN }, 'auto'] as const) {
    const client = new ModernClient({ name: 'v2-test', version: '1.0.0' }, { versionNegotiation: { mode } })
    const transport = new ModernTransport(new URL(`${gw.url}/mcp/modern`), { requestInit: { headers: { authorization: `Bearer ${key}` } } })
    await client.connect(transport)
    t.teardown(() => client.close())
    t.equal(transport.sessionId, undefined, `${JSON.stringify(mode)}: no session`)
    const { tools } = await client.listTools()
    t.ok(tools.some(tool => tool.name === 'get_user'), `${JSON.stringify(mode)}: tools listed`)
    const result = await client.callTool({ name: 'get_user', arguments: { id: '42' } })
    t.notOk(result.isError, `${JSON.stringify(mode)}: ${JSON.stringify(result.content)}`)
    t.match(result.structuredContent, { id: '42' })
  }
})
