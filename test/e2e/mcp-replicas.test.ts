// Sessions and streams across replicas: two Toolgate processes on one Postgres. A session made on
// one is served by the other; a config change applied through one reaches a GET stream held on the
// other within a second; DELETE on one ends the session on both. Plus the GET stream's framing,
// principal binding, and cancellation of a call in flight.
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { ACCEPT_BOTH, mcpRaw, rawSession } from '../helpers/mcp-raw.ts'
import { openSse } from '../helpers/sse.ts'

useTestCluster(t)

let upstream: MockUpstream
let a: TestGateway
let b: TestGateway
let key: string

const config = (version: number) => ({
  providers: [{ name: 'mock', baseUrl: upstream.url }],
  servers: [{
    name: 'shared',
    tools: [
      { name: 'slow', provider: 'mock', method: 'GET', path: '/slow', input: { type: 'object', properties: { ms: { type: 'integer' } } } },
      ...Array.from({ length: version }, (_, i) => ({ name: `tool_${i}`, provider: 'mock', method: 'GET', path: `/echo/${i}` }))
    ]
  }, { name: 'other' }]
})

t.before(async () => {
  upstream = await startMockUpstream()
  a = await startTestGateway(t, { TOOLGATE_SSE_KEEPALIVE_MS: '200' })
  b = await startTestGateway(t, { DATABASE_URL: a.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: a.settings.encryptionKeys!, TOOLGATE_SSE_KEEPALIVE_MS: '200' })
  const applied = await a.applyConfig(config(1))
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  key = await a.createKey()
})
t.teardown(() => upstream.close())

function getStream (gw: TestGateway, session: string, version: string) {
  return openSse(`${gw.url}/mcp/shared`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': version } })
}

t.test('a session made on one replica works on the other', async t => {
  const { session, version } = await rawSession(a.url, 'shared', key)
  const list = await mcpRaw(b.url, 'shared', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key, session, version })
  t.equal(list.status, 200)
  t.same(list.json.result.tools.map((tool: { name: string }) => tool.name).sort(), ['slow', 'tool_0'])
})

t.test('a session is bound to its API key and its server', async t => {
  const { session, version } = await rawSession(a.url, 'shared', key)
  const otherKey = await a.createKey({ endUser: 'bob' })
  const foreign = await mcpRaw(b.url, 'shared', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key: otherKey, session, version })
  t.equal(foreign.status, 404, "another principal's session id is unknown")
  const otherServer = await mcpRaw(b.url, 'other', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key, session, version })
  t.equal(otherServer.status, 404, "another server's session id is unknown")
  const forged = await mcpRaw(b.url, 'shared', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key, session: session.replace(/.$/, c => c === 'A' ? 'B' : 'A'), version })
  t.equal(forged.status, 404, 'a tampered id is unknown')
  const missing = await mcpRaw(b.url, 'shared', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key, version })
  t.equal(missing.status, 400, 'a missing id is 400')
})

t.test('GET stream: priming event, retry, keep-alives, no buffering; list_changed from the other replica within a second', async t => {
  const { session, version } = await rawSession(a.url, 'shared', key)
  const stream = await getStream(b, session, version)
  t.teardown(() => stream.close())
  t.equal(stream.response.status, 200)
  t.equal(stream.response.headers.get('content-type'), 'text/event-stream')
  t.equal(stream.response.headers.get('x-accel-buffering'), 'no')
  const priming = await stream.next()
  t.ok(priming?.id, 'the priming event has an id')
  t.equal(priming?.data, '', 'and empty data')
  t.equal(priming?.retry, 3000, 'and tells the client when to reconnect')

  const started = Date.now()
  t.equal((await a.applyConfig(config(2))).status, 200, 'config changed through replica A')
  const change = await stream.next(3000)
  const elapsed = Date.now() - started
  t.match(change?.json, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' })
  t.ok(change?.id, 'events carry ids')
  t.ok(elapsed < 1000, `reached the stream on replica B within a second (${elapsed} ms)`)

  t.equal((await a.applyConfig(config(2))).status, 200, 'the same document again')
  t.equal(await stream.next(700), undefined, 'no notification when the server did not change')
  t.ok(stream.comments.some(line => line.startsWith(': keep-alive')), 'keep-alive comments on an idle stream')
})

t.test('the official SDK client receives list_changed on its GET stream', async t => {
  const client = new Client({ name: 'listener', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${b.url}/mcp/shared`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
  t.teardown(() => client.close())
  const notified = new Promise<void>(resolve => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()))
  await new Promise(resolve => setTimeout(resolve, 300)) // the client opens its GET stream after initialized
  t.equal((await a.applyConfig(config(3))).status, 200)
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([notified.then(() => 'notified'), new Promise(resolve => { timer = setTimeout(resolve, 3000, 'timeout') })])
  clearTimeout(timer)
  t.equal(outcome, 'notified')
  t.equal((await client.listTools()).tools.length, 4, 'and sees the new list')
})

t.test('DELETE on one replica ends the session on the other', async t => {
  const { session, version } = await rawSession(a.url, 'shared', key)
  t.equal((await mcpRaw(b.url, 'shared', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key, session, version })).status, 200)
  const deleted = await mcpRaw(a.url, 'shared', undefined, { method: 'DELETE', key, session, version })
  t.equal(deleted.status, 204)
  let status = 200
  const deadline = Date.now() + 2000
  while (status === 200 && Date.now() < deadline) {
    status = (await mcpRaw(b.url, 'shared', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key, session, version })).status
    if (status === 200) await new Promise(resolve => setTimeout(resolve, 25))
  }
  t.equal(status, 404, 'replica B refuses the ended session')
  const late = await startTestGateway(t, { DATABASE_URL: a.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: a.settings.encryptionKeys! })
  t.equal((await mcpRaw(late.url, 'shared', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { key, session, version })).status, 404, 'and so does a replica started later')
})

t.test('notifications/cancelled aborts the upstream request of the call', async t => {
  const { session, version } = await rawSession(a.url, 'shared', key)
  const before = upstream.abandoned.length
  const call = mcpRaw(a.url, 'shared', { jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'slow', arguments: { ms: 10_000 } } }, { key, session, version })
  const deadline = Date.now() + 5000
  while (!upstream.requests.some(r => r.url === '/slow?ms=10000') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  const started = Date.now()
  const cancel = await mcpRaw(a.url, 'shared', { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1', reason: 'user stopped it' } }, { key, session, version, accept: ACCEPT_BOTH })
  t.equal(cancel.status, 202)
  const reply = await call
  t.ok(Date.now() - started < 2000, 'the call ends at once, not after the upstream answers')
  t.match(reply.json, { id: 'slow-1', result: { isError: true, content: [{ text: /cancelled/ }] } })
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(upstream.abandoned.length, before + 1, 'the upstream saw its request aborted')
})
