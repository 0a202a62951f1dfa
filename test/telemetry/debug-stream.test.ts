// The live debug console on one replica: a subscriber sees every stage of a call (MCP request,
// upstream request, upstream response, result or error) grouped by call id, with the end user,
// API key and session; secrets are redacted (a SECRET in a provider header, one in a header with
// an innocent name, one in the path, Authorization, the client's API key: none appears in clear);
// bodies are cut at TOOLGATE_DEBUG_MAX_BODY_BYTES; remote-mcp calls show the forwarded tools/call.
// Access: admin token, or a scoped token for one server only, which expires; none → 401. With no
// subscriber the bus builds nothing (counted). A subscriber that stops reading gets drops counted
// and signalled once it drains, while calls keep completing and another subscriber misses nothing.
import t from 'tap'
import { sql } from 'kysely'
import { DebugTokenSigner } from '../../src/auth/debug-token.ts'
import { DebugBus, redactHeaders, redactQuery } from '../../src/telemetry/debug-bus.ts'
import { DebugStream } from '../../src/telemetry/debug-stream.ts'
import { startFixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { callEvents, finishedCalls, openDebug, stalledSubscriber } from '../helpers/debug.ts'
import { ADMIN_TOKEN, openTestDb, startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { mcpRaw, rawSession } from '../helpers/mcp-raw.ts'
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'

useTestCluster(t)

const AUTH_SECRET = 'dbg-secret-authorization-5e1f'
const TENANT_SECRET = 'dbg-secret-tenant-77aa10'
const PATH_SECRET = 'dbg-secret-path-0c9d2b'
const REMOTE_SECRET = 'dbg-secret-remote-4471ee'
const ARGUMENT = 'dbg-argument-9f00aa'
const MAX_BODY = 2048

const object = { type: 'object', properties: { q: { type: 'string' }, n: { type: 'integer' } } }

function config (upstream: MockUpstream, fixtureUrl?: string) {
  return {
    variables: [
      { name: 'AUTH', kind: 'SECRET', value: AUTH_SECRET },
      { name: 'TENANT', kind: 'SECRET', value: TENANT_SECRET },
      { name: 'PATHKEY', kind: 'SECRET', value: PATH_SECRET },
      { name: 'REMOTE', kind: 'SECRET', value: REMOTE_SECRET },
      { name: 'REGION', kind: 'ENV', value: 'eu-west' }
    ],
    providers: [{ name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${AUTH}', 'X-Tenant': '${TENANT}', 'X-Region': '${REGION}' } }],
    servers: [
      {
        name: 'dbg',
        tools: [
          { name: 'echo', provider: 'mock', method: 'POST', path: '/echo/${PATHKEY}/items', input: object },
          { name: 'fail', provider: 'mock', method: 'GET', path: '/status/500', input: object },
          { name: 'big', provider: 'mock', method: 'GET', path: '/big', input: { type: 'object', properties: { bytes: { type: 'integer' } } } },
          { name: 'shaped', provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: [{ jmespath: '{name: name}' }] }
        ]
      },
      { name: 'other', tools: [{ name: 'echo', provider: 'mock', method: 'POST', path: '/echo', input: object }] },
      ...(fixtureUrl ? [{ name: 'fx', kind: 'remote-mcp', url: fixtureUrl, transport: 'streamable-http', headers: { 'X-Upstream-Auth': '${REMOTE}' } }] : [])
    ]
  }
}

async function apiKeyId (gw: TestGateway): Promise<string> {
  const keys = await (await gw.admin('GET', '/api-keys')).json() as Array<{ id: string }>
  return keys[keys.length - 1]!.id
}

t.test('redaction helpers', async t => {
  t.same(redactHeaders({ Authorization: 'Bearer x', cookie: 'a=b', 'x-api-key': 'k', 'x-auth-token': 't', 'x-tenant': 'v', accept: 'application/json' }, new Set(['x-tenant'])), {
    Authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', 'x-auth-token': '[redacted]', 'x-tenant': '[redacted]', accept: 'application/json'
  })
  t.equal(redactQuery('/a?q=1&access_token=abc&api_key=k&x=2#frag'), '/a?q=1&access_token=[redacted]&api_key=[redacted]&x=2#frag', 'credential-like query parameters')
  t.equal(redactQuery('/a?q=1&code=zz', new Set(['code'])), '/a?q=1&code=[redacted]', 'names the caller adds (an injected OAuth parameter)')
  t.equal(redactQuery('/plain/path'), '/plain/path')
})

t.test('debug tokens: signed, scoped to a workspace and a server, expiring', async t => {
  let now = 1_000_000
  const signer = new DebugTokenSigner(Buffer.alloc(32, 7), { now: () => now })
  const { token, claims } = signer.issue('ws1', 'dbg', 60)
  t.match(token, /^tgd_[\w-]+\.[\w-]+$/)
  t.equal(claims.expiresAt, now + 60_000)
  t.same(signer.verify(token, 'ws1', 'dbg'), { ok: true, claims })
  t.same(signer.verify(token, 'ws1', 'other'), { ok: false, reason: 'other_server' })
  t.same(signer.verify(token, 'ws2', 'dbg'), { ok: false, reason: 'invalid' }, 'another workspace')
  t.same(signer.verify(token.replace(/.$/, c => c === 'A' ? 'B' : 'A'), 'ws1', 'dbg'), { ok: false, reason: 'invalid' }, 'tampered signature')
  t.same(new DebugTokenSigner(Buffer.alloc(32, 8)).verify(token, 'ws1', 'dbg'), { ok: false, reason: 'invalid' }, 'another key')
  const [payload, mac] = token.slice(4).split('.')
  const forged = 'tgd_' + Buffer.from(JSON.stringify([1, 'ws1', 'other', claims.expiresAt, claims.id])).toString('base64url') + '.' + mac
  t.same(signer.verify(forged, 'ws1', 'other'), { ok: false, reason: 'invalid' }, 'a payload edited to name another server')
  t.ok(payload)
  now += 60_000
  t.same(signer.verify(token, 'ws1', 'dbg'), { ok: false, reason: 'expired' })
  t.throws(() => signer.issue('ws1', 'dbg', 3601), RangeError, 'at most an hour')
  t.throws(() => signer.issue('ws1', 'dbg', 0), RangeError)
})

/** A ServerResponse stand-in whose socket "drains" only when told to. */
class FakeResponse extends EventEmitter {
  written: string[] = []
  accept = true
  writeHead () { return this }
  flushHeaders () {}
  write (chunk: string) {
    this.written.push(chunk)
    return this.accept
  }
  end () { this.emit('close') }
  destroy () { this.emit('close') }
}

t.test('back-pressure: a bounded queue, drops counted and signalled once the socket drains', async t => {
  const res = new FakeResponse()
  const bus = new DebugBus({ maxBodyBytes: 1024 })
  const stream = new DebugStream(res as unknown as ServerResponse, { server: 's' }, { maxQueueBytes: 100, keepAliveMs: 0, batchMs: 0, stats: bus.stats })
  t.teardown(() => stream.end())
  const unsubscribe = bus.subscribe('s', stream)
  t.match(res.written[0], /^event: ready\n/)
  const frame = (i: number) => `event: result\ndata: {"i":${i},"pad":"${'x'.repeat(10)}"}\n\n`
  res.accept = false
  stream.deliver(frame(1)) // written, but not accepted whole: blocked from here
  for (let i = 2; i <= 10; i++) stream.deliver(frame(i))
  t.equal(res.written.length, 2, 'nothing more is written while the socket does not drain')
  t.equal(stream.queuedFrames, 2, 'two frames fit the 100-character queue')
  t.equal(stream.dropped, 7, 'the rest are dropped')
  t.equal(bus.stats.dropped, 7, 'and counted on the bus')
  res.accept = true
  res.emit('drain')
  t.equal(res.written[2], frame(2) + frame(3), 'on drain: the queued frames first (in one write)')
  const dropped = JSON.parse(res.written[3]!.split('data: ')[1]!)
  t.match(res.written[3], /^event: dropped\n/)
  t.same([dropped.count, dropped.totalDropped], [7, 7], 'then one dropped event with the count')
  stream.deliver(frame(11))
  t.equal(res.written[4], frame(11), 'then delivery resumes')
  unsubscribe()
  t.equal(bus.subscriberCount('s'), 0)
})

t.test('batching: the frames of a burst leave in one write', async t => {
  const res = new FakeResponse()
  const stream = new DebugStream(res as unknown as ServerResponse, { server: 's' }, { maxQueueBytes: 1 << 20, keepAliveMs: 0, batchMs: 20 })
  t.teardown(() => stream.end())
  for (let i = 0; i < 50; i++) stream.deliver(`event: result\ndata: {"i":${i}}\n\n`)
  t.equal(res.written.length, 1, 'nothing but the ready event yet')
  await new Promise(resolve => setTimeout(resolve, 40))
  t.equal(res.written.length, 2, 'one write')
  t.equal(res.written[1]!.split('event: result').length - 1, 50, 'with every frame')
  stream.deliver(`event: result\ndata: {"big":"${'x'.repeat(70_000)}"}\n\n`)
  t.equal(res.written.length, 3, 'a batch past 64 KiB is written at once')
})

t.test('zero cost without a subscriber: no trace, no event built', async t => {
  const bus = new DebugBus({ maxBodyBytes: 1024 })
  const server = { name: 's', tools: new Map(), toolList: [] }
  t.equal(bus.startCall(server, 'tool', { endUserId: 'u', apiKeyId: 'k' }), undefined)
  t.same([bus.stats.callsTraced, bus.stats.eventsBuilt], [0, 0])
  const unsubscribe = bus.subscribe('other', { deliver: () => {} })
  t.equal(bus.startCall(server, 'tool', { endUserId: 'u', apiKeyId: 'k' }), undefined, "another server's subscriber does not count")
  unsubscribe()
  const frames: string[] = []
  bus.subscribe('s', { deliver: frame => frames.push(frame) })
  const trace = bus.startCall(server, 'tool', { endUserId: 'u', apiKeyId: 'k' })
  t.ok(trace)
  trace!.mcpRequest('tools/call', '2025-11-25', { name: 'tool', arguments: { a: 1 } })
  t.equal(frames.length, 1)
  t.equal(bus.stats.eventsBuilt, 1)
})

t.test('end to end on one gateway', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t, { TOOLGATE_DEBUG_MAX_BODY_BYTES: String(MAX_BODY), TOOLGATE_DEBUG_MAX_QUEUE_BYTES: '65536', TOOLGATE_SSE_KEEPALIVE_MS: '200' })
  const applied = await gw.applyConfig(config(upstream, fixture.url))
  t.equal(applied.status, 200, await applied.clone().text())
  const key = await gw.createKey({ endUser: 'debug-user' })
  const keyId = await apiKeyId(gw)
  const bus = gw.gateway.debug

  t.test('no subscriber: calls are not traced, nothing is built', async t => {
    const client = await gw.connect('dbg', key)
    for (let i = 0; i < 5; i++) await client.callTool({ name: 'echo', arguments: { q: ARGUMENT } })
    await client.callTool({ name: 'fail', arguments: {} })
    t.same([bus.stats.callsTraced, bus.stats.eventsBuilt, bus.stats.framesDelivered], [0, 0, 0])
    // A subscriber of another server does not make this server's calls traced either.
    const other = await openDebug(gw.url, 'other')
    await client.callTool({ name: 'echo', arguments: { q: ARGUMENT } })
    t.same([bus.stats.callsTraced, bus.stats.eventsBuilt], [0, 0])
    await other.close()
  })

  t.test('each stage of an api call, secrets redacted, grouped by call id', async t => {
    const debug = await openDebug(gw.url, 'dbg')
    t.teardown(() => debug.close())
    t.equal(debug.reader.response.headers.get('content-type'), 'text/event-stream')
    t.equal(debug.reader.response.headers.get('cache-control'), 'no-store, no-transform')
    t.match(debug.ready, { type: 'ready', server: 'dbg', fanOut: 'local', access: 'admin', maxBodyBytes: MAX_BODY, replica: bus.replicaId })

    const client = await gw.connect('dbg', key)
    const echo = await client.callTool({ name: 'echo', arguments: { q: ARGUMENT, n: 3 } })
    t.match(JSON.stringify(echo), AUTH_SECRET, 'the secret did reach the upstream (the mock echoes headers)')
    await debug.readUntil(events => finishedCalls(events).length >= 1)
    const [callId] = finishedCalls(debug.events)
    const events = callEvents(debug.events, callId!)
    t.same(events.map(e => e.event), ['mcp_request', 'upstream_request', 'upstream_response', 'result'], 'one event per stage, in order')
    for (const event of events) {
      t.equal(event.json.type, event.event)
      t.match(event.json, { callId, server: 'dbg', tool: 'echo', apiKeyId: keyId, replica: bus.replicaId })
      t.type(event.json.endUserId, 'string')
      t.type(event.json.sessionId, 'string', 'the legacy session')
      t.type(event.json.ts, 'number')
    }
    const [request, upstreamRequest, upstreamResponse, result] = events.map(e => e.json)
    t.match(request, { method: 'tools/call', protocolVersion: '2025-11-25', arguments: { json: { q: ARGUMENT, n: 3 }, truncated: false } })
    t.equal(upstreamRequest.method, 'POST')
    t.equal(upstreamRequest.url, `${upstream.url}/echo/[redacted]/items`, 'the secret in the path is masked')
    t.equal(upstreamRequest.headers.authorization, '[redacted]')
    t.equal(upstreamRequest.headers['x-tenant'], '[redacted]', 'a header from a SECRET is redacted whatever its name')
    t.equal(upstreamRequest.headers['x-region'], 'eu-west', 'a header from an ENV variable is shown')
    t.same(JSON.parse(upstreamRequest.body.text), { q: ARGUMENT, n: 3 })
    t.equal(upstreamResponse.status, 200)
    t.type(upstreamResponse.ms, 'number')
    t.equal(upstreamResponse.headers['content-type'], 'application/json')
    t.match(upstreamResponse.body.text, ARGUMENT, 'the upstream body')
    t.match(upstreamResponse.body.text, '[redacted]', 'with the echoed secrets masked')
    t.match(result, { isError: false, result: { json: { content: [{ type: 'text' }] } } })
    const stream = debug.raw()
    for (const [name, value] of Object.entries({ AUTH_SECRET, TENANT_SECRET, PATH_SECRET, key, ADMIN_TOKEN })) {
      t.notOk(stream.includes(value), `no ${name} in the stream`)
      t.notOk(stream.includes(Buffer.from(value).toString('base64')), `no base64 ${name} in the stream`)
    }
    t.ok(stream.includes(ARGUMENT), 'the payloads themselves are there (volatile by design)')

    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text()
    t.match(metrics, /^toolgate_debug_subscribers 1$/m, '/metrics: open streams')
    t.match(metrics, new RegExp(`^toolgate_debug_events_total ${bus.stats.eventsBuilt}$`, 'm'), '/metrics: events built')
    t.match(metrics, /^toolgate_debug_dropped_total 0$/m)
  })

  t.test('errors, truncation, interceptors, unknown tools, the modern era', async t => {
    const debug = await openDebug(gw.url, 'dbg')
    t.teardown(() => debug.close())
    const client = await gw.connect('dbg', key)
    await client.callTool({ name: 'fail', arguments: {} })
    await client.callTool({ name: 'big', arguments: { bytes: 10_000 } })
    await client.callTool({ name: 'shaped', arguments: { id: 'ada' } })
    await client.callTool({ name: 'echo', arguments: { n: 'not a number' } })
    await client.callTool({ name: 'no_such_tool', arguments: {} }).catch(() => {})
    await debug.readUntil(events => finishedCalls(events).length >= 5)
    const byTool = (tool: string) => debug.events.filter(e => e.json?.tool === tool && e.event !== 'ready')

    const fail = byTool('fail')
    t.same(fail.map(e => e.event), ['mcp_request', 'upstream_request', 'upstream_response', 'error'])
    t.equal(fail[2]!.json.status, 500)
    t.match(fail[3]!.json, { kind: 'upstream_status', upstreamStatus: 500, message: /500/ })

    const big = byTool('big')
    const bigBody = big.find(e => e.event === 'upstream_response')!.json.body
    t.match(bigBody, { bytes: 10_000, truncated: true })
    t.ok(Buffer.byteLength(bigBody.text) <= MAX_BODY, 'cut at TOOLGATE_DEBUG_MAX_BODY_BYTES')
    const bigResult = big.find(e => e.event === 'result')!.json.result
    t.equal(bigResult.truncated, true, 'the result too')
    t.ok(bigResult.bytes > 10_000)
    t.ok(Buffer.byteLength(bigResult.text) <= MAX_BODY)

    const shaped = byTool('shaped')
    t.same(shaped.map(e => e.event), ['mcp_request', 'upstream_request', 'upstream_response', 'result'])
    t.match(shaped[2]!.json.body.text, 'ada@example.com', 'the upstream body before the interceptor')
    t.same(shaped[3]!.json.result.json.content[0].text, '{"name":"Ada Lovelace"}', 'the result after it')
    t.match(shaped[3]!.json.intercepted, { bytesBefore: Number, bytesAfter: Number })

    const invalid = debug.events.filter(e => e.json?.tool === 'echo')
    t.same(invalid.map(e => e.event), ['mcp_request', 'error'], 'invalid arguments never reach the upstream')
    t.equal(invalid[1]!.json.kind, 'invalid_arguments')

    const unknown = byTool('no_such_tool')
    t.same(unknown.map(e => e.event), ['mcp_request', 'error'])
    t.match(unknown[1]!.json, { kind: 'rpc_error', rpcError: { message: /Unknown tool/ } })

    // The modern era has no session: its events carry none.
    const modern = await mcpRaw(gw.url, 'dbg', {
      jsonrpc: '2.0', id: 7, method: 'tools/call',
      params: { name: 'echo', arguments: { q: 'modern' }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } } }
    }, { key, version: '2026-07-28', headers: { 'mcp-method': 'tools/call', 'mcp-name': 'echo' } })
    t.equal(modern.status, 200, modern.text)
    await debug.readUntil(events => finishedCalls(events).length >= 6)
    const modernEvents = debug.events.filter(e => e.json?.protocolVersion === '2026-07-28')
    t.equal(modernEvents.length, 1)
    t.notOk('sessionId' in modernEvents[0]!.json, 'no session in the modern era')
  })

  t.test('remote-mcp: the forwarded tools/call is the upstream request', async t => {
    const debug = await openDebug(gw.url, 'fx')
    t.teardown(() => debug.close())
    const client = await gw.connect('fx', key)
    const headers = await client.callTool({ name: 'headers', arguments: {} })
    t.match(JSON.stringify(headers), REMOTE_SECRET, 'the upstream got the secret header (and echoes it)')
    await t.rejects(client.callTool({ name: 'fail', arguments: {} }), /fixture failure/)
    await debug.readUntil(events => finishedCalls(events).length >= 2)
    const [first, second] = finishedCalls(debug.events)
    const ok = callEvents(debug.events, first!)
    t.same(ok.map(e => e.event), ['mcp_request', 'upstream_request', 'upstream_response', 'result'])
    t.match(ok[1]!.json, { method: 'tools/call', url: fixture.url, transport: 'streamable-http', headers: { 'x-upstream-auth': '[redacted]' }, body: { json: { name: 'headers', arguments: {} } } })
    t.match(ok[2]!.json.body.json.content[0].text, '[redacted]', 'the echoed secret is masked in the upstream answer')
    const failed = callEvents(debug.events, second!)
    t.same(failed.map(e => e.event), ['mcp_request', 'upstream_request', 'upstream_response', 'error'])
    t.match(failed[2]!.json.error, { code: -32042, message: /fixture failure/ })
    t.match(failed[3]!.json, { kind: 'rpc_error', rpcError: { code: -32042 } })
    t.notOk(debug.raw().includes(REMOTE_SECRET), 'no remote secret in the stream')
  })

  t.test('access: admin token, scoped token for its server only, expiry, nothing else', async t => {
    const anonymous = await openDebug(gw.url, 'dbg', { anonymous: true }).catch(err => err)
    t.equal(anonymous.status, 401, 'no token → 401')
    t.match(JSON.parse(anonymous.body), { error: { code: 'TG_ERR_UNAUTHORIZED' } })
    t.equal((await openDebug(gw.url, 'dbg', { token: 'tgd_nope.nope' }).catch(err => err)).status, 401, 'a bad token → 401')
    t.equal((await openDebug(gw.url, 'dbg', { token: key }).catch(err => err)).status, 401, "an MCP client's API key → 401")
    t.equal((await openDebug(gw.url, 'dbg', { query: ADMIN_TOKEN }).catch(err => err)).status, 401, 'the admin token is not taken from the URL')
    t.equal((await openDebug(gw.url, 'nope').catch(err => err)).status, 404, 'an unknown server → 404')

    const unauthenticatedMint = await fetch(`${gw.url}/api/v1/servers/dbg/debug-token`, { method: 'POST' })
    t.equal(unauthenticatedMint.status, 401, 'minting needs the admin token')
    t.equal((await gw.admin('POST', '/servers/nope/debug-token', {})).status, 404)
    t.equal((await gw.admin('POST', '/servers/dbg/debug-token', { ttlSeconds: 3601 })).status, 400, 'at most an hour')
    const minted = await gw.admin('POST', '/servers/dbg/debug-token')
    t.equal(minted.status, 201)
    t.equal(minted.headers.get('cache-control'), 'no-store')
    const { token, expiresAt, url } = await minted.json() as { token: string, expiresAt: string, url: string }
    const ttl = Date.parse(expiresAt) - Date.now()
    t.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000, 'default: 15 minutes')
    t.equal(url, `/api/v1/servers/dbg/debug?token=${encodeURIComponent(token)}`)

    const viaQuery = await openDebug(gw.url, 'dbg', { query: token })
    t.match(viaQuery.ready, { access: 'debug-token', expiresAt })
    await viaQuery.close()
    const viaHeader = await openDebug(gw.url, 'dbg', { token })
    await viaHeader.close()
    const elsewhere = await openDebug(gw.url, 'other', { query: token }).catch(err => err)
    t.equal(elsewhere.status, 403, "another server's stream → 403")
    const withToken = await fetch(`${gw.url}/api/v1/servers/dbg/debug-token`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    t.equal(withToken.status, 401, 'a debug token is no admin token')
    t.equal((await fetch(`${gw.url}/api/v1/config`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'nor anywhere else in the admin API')

    // A short-lived token: the stream opened with it ends when it expires, and it opens nothing after.
    const short = await (await gw.admin('POST', '/servers/dbg/debug-token', { ttlSeconds: 1 })).json() as { token: string }
    const expiring = await openDebug(gw.url, 'dbg', { query: short.token })
    const ended = await expiring.readUntil(events => events.some(e => e.event === 'expired'), 3000)
    t.ok(ended.some(e => e.event === 'expired'), 'the stream says its token expired')
    t.equal(await expiring.reader.next(2000), undefined, 'and ends')
    const late = await openDebug(gw.url, 'dbg', { query: short.token }).catch(err => err)
    t.equal(late.status, 401, 'an expired token → 401')
    t.match(JSON.parse(late.body).error.message, /expired/)

    const all = gw.logs.join('')
    t.notOk(all.includes(token) || all.includes(short.token) || all.includes(encodeURIComponent(token)), 'no token in any log line')
    t.ok(gw.logs.some(line => line.includes('"route":"/api/v1/servers/:server/debug"')), 'the request log names the route pattern')
    const { db } = openTestDb(gw.databaseUrl)
    t.teardown(() => db.destroy())
    const audit = await sql<{ row: string }>`select a::text as row from audit_log a where action = 'debug_token.create'`.execute(db)
    t.equal(audit.rows.length, 2, 'each minted token is audited')
    t.notOk(audit.rows.some(r => r.row.includes(token) || r.row.includes(short.token)), 'without the token')
  })
})

t.test('a slow subscriber: drops counted and signalled, calls keep completing, others miss nothing', async t => {
  const upstream = await startMockUpstream({ record: false })
  t.teardown(() => upstream.close())
  // Default body limit (64 KiB): each call puts about 2 × 60 KB of events in each subscriber's way.
  const gw = await startTestGateway(t, { TOOLGATE_DEBUG_MAX_QUEUE_BYTES: String(4 * 1024 * 1024) })
  t.equal((await gw.applyConfig(config(upstream))).status, 200)
  const key = await gw.createKey({ endUser: 'debug-user' })
  const bus = gw.gateway.debug
  const stalled = await stalledSubscriber(gw.url, 'dbg')
  t.teardown(() => stalled.close())
  const reader = await openDebug(gw.url, 'dbg')
  t.teardown(() => reader.close())
  const before = bus.stats.dropped
  const { session, version } = await rawSession(gw.url, 'dbg', key)
  const CALLS = 300
  let ok = 0
  // 300 × 120 KB: far more than the stalled socket's kernel buffers and its 4 MiB queue hold.
  const call = async (i: number) => {
    const reply = await mcpRaw(gw.url, 'dbg', { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'big', arguments: { bytes: 60_000 } } }, { key, session, version })
    if (reply.status === 200 && reply.json?.result?.isError !== true) ok++
  }
  const workers = Array.from({ length: 6 }, async (_, w) => { for (let i = w; i < CALLS; i += 6) await call(i) })
  const read = reader.readUntil(events => finishedCalls(events).length >= CALLS, 60_000)
  await Promise.all(workers)
  t.equal(ok, CALLS, 'every call completed with its result')
  const seen = await read
  t.equal(finishedCalls(seen).length, CALLS, 'the reading subscriber got every call')
  t.notOk(seen.some(e => e.event === 'dropped'), 'and no drop')
  const dropped = bus.stats.dropped - before
  t.ok(dropped > 0, `the stalled subscriber's frames were dropped (${dropped})`)
  // Reading again: the queue first, then one `dropped` event with the count.
  const text = await stalled.resume(read => /event: dropped\ndata: [^\n]*\n\n/.test(read))
  const line = text.slice(text.indexOf('event: dropped')).split('\n')[1]!
  const event = JSON.parse(line.slice('data: '.length))
  t.equal(event.count, dropped, 'the dropped event carries the count')
})
