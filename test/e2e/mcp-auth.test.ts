// Who may call /mcp/:server: API keys (missing, invalid, revoked, expired, limited to other
// servers), unknown servers, and the per-IP rate limits with their separate /mcp and /api budgets.
// Each case is checked with the MCP SDK client (its connect must fail) and with raw fetch (exact
// status, headers and JSON-RPC error body).
import t from 'tap'
import type { Test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { ADMIN_TOKEN, startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { initializeMessage, mcpRaw, rawSession, type RawReply } from '../helpers/mcp-raw.ts'

useTestCluster(t)

let upstream: MockUpstream
t.before(async () => { upstream = await startMockUpstream() })
t.teardown(() => upstream.close())

const tool = (name: string) => ({
  name, provider: 'mock', method: 'GET', path: '/users/{id}',
  input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
})

async function gatewayWithServers (t: Test, env: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway(t, env)
  const applied = await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{ name: 'alpha', tools: [tool('get_user')] }, { name: 'beta', tools: [tool('get_user')] }]
  })
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  return gw
}

/** Connects an SDK client with exactly these request headers; returns the connect error, if any. */
async function connectError (gw: TestGateway, server: string, headers: Record<string, string>): Promise<unknown> {
  const client = new Client({ name: 'auth-test', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp/${server}`), { requestInit: { headers } })
  try {
    await client.connect(transport)
  } catch (err) {
    return err
  }
  await client.close()
  return undefined
}

/** A connect that fails with this HTTP status, and the raw reply to an initialize with the same headers. */
async function refused (t: Test, gw: TestGateway, server: string, key: string | undefined, status: number): Promise<RawReply> {
  const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` }
  const error = await connectError(gw, server, headers)
  t.ok(error instanceof StreamableHTTPError, 'the SDK connect fails with an HTTP error')
  t.equal((error as StreamableHTTPError).code, status, `the SDK saw ${status}`)
  const reply = await mcpRaw(gw.url, server, initializeMessage('2025-11-25'), key === undefined ? {} : { key })
  t.equal(reply.status, status)
  t.match(reply.headers.get('content-type'), /^application\/json/)
  t.equal(reply.json?.jsonrpc, '2.0', 'the body is a JSON-RPC error')
  t.equal(reply.json?.id, null)
  t.type(reply.json?.error?.code, 'number')
  t.notOk(reply.headers.get('mcp-session-id'), 'no session is issued')
  return reply
}

async function createKeyWithId (gw: TestGateway, body: Record<string, unknown>): Promise<{ id: string, key: string }> {
  const response = await gw.admin('POST', '/api-keys', body)
  if (response.status !== 201) throw new Error(`creating an API key failed: ${response.status} ${await response.text()}`)
  return await response.json() as { id: string, key: string }
}

t.test('API keys', async t => {
  const gw = await gatewayWithServers(t)

  t.test('a valid key connects and calls', async t => {
    const client = await gw.connect('alpha', await gw.createKey())
    const result = await client.callTool({ name: 'get_user', arguments: { id: 'ada' } })
    t.notOk(result.isError)
  })

  t.test('a missing key is 401 with WWW-Authenticate', async t => {
    const reply = await refused(t, gw, 'alpha', undefined, 401)
    t.equal(reply.headers.get('www-authenticate'), 'Bearer realm="toolgate"')
    t.match(reply.json.error.message, /Missing API key/)
    const basic = await mcpRaw(gw.url, 'alpha', initializeMessage('2025-11-25'), { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } })
    t.equal(basic.status, 401, 'another scheme is no key')
    t.ok(basic.headers.get('www-authenticate'))
  })

  t.test('an invalid key is 401 with an invalid_token challenge', async t => {
    for (const key of ['tg_' + 'A'.repeat(43), 'not-a-toolgate-key', ADMIN_TOKEN]) {
      const reply = await refused(t, gw, 'alpha', key, 401)
      t.equal(reply.headers.get('www-authenticate'), 'Bearer realm="toolgate", error="invalid_token", error_description="API key invalid"')
      t.equal(reply.json.error.message, 'API key invalid')
    }
  })

  t.test('a revoked key is 401, also for a session opened before the revocation', async t => {
    const { id, key } = await createKeyWithId(gw, { endUser: 'bob' })
    const client = await gw.connect('alpha', key)
    t.notOk((await client.callTool({ name: 'get_user', arguments: { id: 'x' } })).isError, 'works before')
    const revoked = await gw.admin('DELETE', `/api-keys/${id}`)
    t.equal(revoked.status, 200)
    const error = await client.callTool({ name: 'get_user', arguments: { id: 'x' } }).catch((err: unknown) => err)
    t.ok(error instanceof StreamableHTTPError)
    t.equal((error as StreamableHTTPError).code, 401, 'the open session stops working at once')
    const reply = await refused(t, gw, 'alpha', key, 401)
    t.match(reply.headers.get('www-authenticate'), /error="invalid_token", error_description="API key revoked"/)
  })

  t.test('an expired key is 401', async t => {
    const { key } = await createKeyWithId(gw, { endUser: 'carol', expiresAt: new Date(Date.now() - 60_000).toISOString() })
    const reply = await refused(t, gw, 'alpha', key, 401)
    t.match(reply.headers.get('www-authenticate'), /error_description="API key expired"/)

    const later = await createKeyWithId(gw, { endUser: 'carol', expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
    await (await gw.connect('alpha', later.key)).ping()
    const patched = await gw.admin('PATCH', `/api-keys/${later.id}`, { expiresAt: new Date(Date.now() - 1000).toISOString() })
    t.equal(patched.status, 200)
    await refused(t, gw, 'alpha', later.key, 401)
  })

  t.test('a key limited to other servers is 403', async t => {
    const key = await gw.createKey({ endUser: 'dave', servers: ['beta'] })
    const reply = await refused(t, gw, 'alpha', key, 403)
    t.equal(reply.json.error.message, 'This API key may not use server "alpha"')
    const beta = await gw.connect('beta', key)
    t.notOk((await beta.callTool({ name: 'get_user', arguments: { id: 'x' } })).isError, 'its own server works')
  })

  t.test('a session opened on one server cannot be used on another', async t => {
    const key = await gw.createKey({ endUser: 'erin' })
    const { session } = await rawSession(gw.url, 'beta', key)
    const reply = await mcpRaw(gw.url, 'alpha', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { key, session, version: '2025-11-25' })
    t.equal(reply.status, 404)
    t.match(reply.json.error.message, /Unknown session/)
  })

  t.test('an unknown server is 404', async t => {
    const reply = await refused(t, gw, 'gamma', await gw.createKey(), 404)
    t.equal(reply.json.error.message, 'Unknown MCP server "gamma"')
  })
})

t.test('rate limits: /mcp has its own per-IP budget, separate from /api', async t => {
  const gw = await gatewayWithServers(t, { TOOLGATE_RATE_LIMIT_MCP: '5/minute', TOOLGATE_RATE_LIMIT_API: '30/minute' })
  const key = await gw.createKey()
  let apiRequests = 2 // applyConfig, createKey

  const { session } = await rawSession(gw.url, 'alpha', key) // 2 MCP requests
  for (let i = 0; i < 3; i++) {
    const ping = await mcpRaw(gw.url, 'alpha', { jsonrpc: '2.0', id: i, method: 'ping' }, { key, session, version: '2025-11-25' })
    t.equal(ping.status, 200, `request ${i + 3} of 5 is allowed`)
  }

  const limited = await mcpRaw(gw.url, 'alpha', { jsonrpc: '2.0', id: 9, method: 'ping' }, { key, session, version: '2025-11-25' })
  t.equal(limited.status, 429, 'the sixth request is limited')
  const retryAfter = Number(limited.headers.get('retry-after'))
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After is a number of seconds within the window (${limited.headers.get('retry-after')})`)
  t.match(limited.headers.get('content-type'), /^application\/json/)
  t.match(limited.json, { jsonrpc: '2.0', id: null, error: { code: -32029, message: /Rate limit exceeded: 5 requests per 60 s/ } })

  const error = await connectError(gw, 'alpha', { authorization: `Bearer ${key}` })
  t.ok(error instanceof StreamableHTTPError)
  t.equal((error as StreamableHTTPError).code, 429, 'the SDK client is refused too')
  t.equal((await mcpRaw(gw.url, 'alpha', initializeMessage('2025-11-25'))).status, 429, 'the limit applies before authentication')
  const forwarded = await mcpRaw(gw.url, 'alpha', initializeMessage('2025-11-25'), { key, headers: { 'x-forwarded-for': '198.51.100.7' } })
  t.equal(forwarded.status, 429, 'without TRUST_PROXY a forged X-Forwarded-For does not reset the budget')

  const list = await gw.admin('GET', '/api-keys')
  apiRequests++
  t.equal(list.status, 200, '/api still answers')
  t.equal(Number(list.headers.get('x-ratelimit-remaining')), 30 - apiRequests, '/mcp requests did not use the /api budget')
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'health checks are not limited')

  while (apiRequests < 30) {
    const response = await gw.admin('GET', '/api-keys')
    apiRequests++
    if (response.status !== 200) t.fail(`/api request ${apiRequests} answered ${response.status}`)
  }
  const apiLimited = await gw.admin('GET', '/api-keys')
  t.equal(apiLimited.status, 429, '/api is limited after its own budget')
  t.ok(Number(apiLimited.headers.get('retry-after')) > 0)
  t.match(await apiLimited.json(), { error: { code: 'TG_ERR_RATE_LIMITED' } })
})

t.test('failed admin logins count against the /api budget (no unlimited token guessing)', async t => {
  const gw = await startTestGateway(t, { TOOLGATE_RATE_LIMIT_API: '3/minute' })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const response = await fetch(`${gw.url}/api/v1/api-keys`, { headers: { authorization: 'Bearer tga_wrong-token' } })
    statuses.push(response.status)
  }
  t.same(statuses.slice(0, 3), [401, 401, 401], 'wrong tokens are refused')
  t.same(statuses.slice(3), [429, 429, 429], 'and limited once the budget is spent')
})
