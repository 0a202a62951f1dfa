// /metrics end to end: exact counters after known calls (per tool, unknown tools under one label,
// upstream errors by kind, interceptor failures by kind, 429s by budget), histogram counts, valid
// Prometheus text, the admin token on the main port, the separate listener, and that no payload
// or client address ever reaches a label.
import t from 'tap'
import { startFixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { ADMIN_TOKEN, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const CANARY = 'metrics-canary-7c2e91'
const object = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required })

function documentFor (upstreamUrl: string) {
  return {
    providers: [{ name: 'mock', baseUrl: upstreamUrl }, { name: 'dead', baseUrl: 'http://127.0.0.1:1' }],
    servers: [{
      name: 'shop',
      tools: [
        { name: 'get_user', provider: 'mock', method: 'GET', path: '/users/{id}', input: object({ id: { type: 'string' } }, ['id']) },
        { name: 'fail', provider: 'mock', method: 'GET', path: '/status/500' },
        { name: 'gone', provider: 'dead', method: 'GET', path: '/x' },
        { name: 'broken', provider: 'mock', method: 'GET', path: '/users/1', response: [{ name: 'thrower', js: '() => { throw new Error("nope") }' }] }
      ]
    }]
  }
}

/** Parses Prometheus text exposition: every line is a comment (HELP/TYPE) or `name{labels} value`. */
function parse (text: string): { samples: Map<string, number>, types: Map<string, string>, bad: string[] } {
  const samples = new Map<string, number>()
  const types = new Map<string, string>()
  const bad: string[] = []
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|[Nn]a[Nn]|\+Inf|-Inf))$/
  // (prom-client writes NaN as `Nan`; Prometheus parses floats with Go's ParseFloat, which takes any case.)
  for (const line of text.split('\n')) {
    if (line === '') continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type) { types.set(type[1]!, type[2]!); continue }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue
    const match = sample.exec(line)
    if (!match) { bad.push(line); continue }
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]))
  }
  return { samples, types, bad }
}

async function scrape (url: string, token?: string): Promise<Response> {
  return await fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
}

t.test('counters, histograms and pool stats after known calls; admin token required', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig(documentFor(upstream.url))).status, 200)
  const client = await gw.connect('shop', await gw.createKey())

  for (let i = 0; i < 3; i++) {
    const result = await client.callTool({ name: 'get_user', arguments: { id: `${CANARY}-${i}` } }) as { isError?: boolean }
    t.notOk(result.isError)
  }
  t.ok((await client.callTool({ name: 'fail', arguments: {} }) as { isError?: boolean }).isError)
  t.ok((await client.callTool({ name: 'gone', arguments: {} }) as { isError?: boolean }).isError)
  t.ok((await client.callTool({ name: 'broken', arguments: {} }) as { isError?: boolean }).isError)
  // Two names the config does not have: counted under one label, never as themselves.
  await client.callTool({ name: `${CANARY}-unknown-a`, arguments: {} }).catch(() => {})
  await client.callTool({ name: `${CANARY}-unknown-b`, arguments: {} }).catch(() => {})

  const unauthorized = await scrape(gw.url)
  t.equal(unauthorized.status, 401, '/metrics needs the admin token on the main port')
  t.equal((await scrape(gw.url, 'tga_wrong')).status, 401, 'a wrong token is refused')

  const response = await scrape(gw.url, ADMIN_TOKEN)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await response.text()
  const { samples, types, bad } = parse(text)
  t.same(bad, [], 'every line is valid Prometheus text')

  const get = (key: string) => samples.get(key)
  t.equal(get('toolgate_tool_calls_total{server="shop",tool="get_user"}'), 3)
  t.equal(get('toolgate_tool_calls_total{server="shop",tool="fail"}'), 1)
  t.equal(get('toolgate_tool_calls_total{server="shop",tool="gone"}'), 1)
  t.equal(get('toolgate_tool_calls_total{server="shop",tool="broken"}'), 1)
  t.equal(get('toolgate_tool_calls_total{server="shop",tool="_other"}'), 2, 'unknown tools go under one label')
  t.equal(get('toolgate_tool_call_errors_total{server="shop",tool="get_user"}'), undefined, 'no errors for the good tool')
  t.equal(get('toolgate_tool_call_errors_total{server="shop",tool="fail"}'), 1)
  t.equal(get('toolgate_tool_call_errors_total{server="shop",tool="_other"}'), 2)
  t.equal(get('toolgate_tool_call_duration_seconds_count{server="shop",tool="get_user"}'), 3, 'histogram count = calls')
  t.equal(get('toolgate_tool_call_duration_seconds_bucket{le="+Inf",server="shop",tool="get_user"}'), 3)
  t.ok((get('toolgate_tool_call_duration_seconds_sum{server="shop",tool="get_user"}') ?? 0) > 0)
  t.equal(types.get('toolgate_tool_call_duration_seconds'), 'histogram')
  t.equal(get('toolgate_upstream_errors_total{server="shop",kind="upstream_status"}'), 1)
  t.equal(get('toolgate_upstream_errors_total{server="shop",kind="unreachable"}'), 1)
  t.equal(get('toolgate_interceptor_failures_total{kind="runtime"}'), 1, 'the thrown interceptor counted by kind')
  t.equal(get('toolgate_interceptor_failures_total{kind="timeout"}'), 0)
  t.equal(get('toolgate_rate_limit_rejections_total{budget="mcp"}'), 0)
  t.ok((get(`toolgate_upstream_pool_connections{origin="${upstream.url}"}`) ?? -1) >= 0, 'the mock upstream pool is reported')
  t.ok((get('toolgate_http_requests_total{kind="mcp",status="2xx"}') ?? 0) >= 9, 'MCP requests counted by status class')
  t.equal(get('toolgate_http_requests_total{kind="api",status="2xx"}'), 2, 'config apply and key creation')
  t.ok(types.has('process_cpu_user_seconds_total'), 'default process metrics on the same registry')

  t.notOk(text.includes(CANARY), 'no argument or unknown tool name in the metrics')
  // The client is on 127.0.0.1 as the upstreams are: that address may appear only as a configured
  // provider origin (pool stats), never in any other label.
  const origins = new Set([upstream.url, 'http://127.0.0.1:1'])
  const addressLabels: string[] = []
  for (const [, name, value] of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    if (/127\.0\.0\.1|::1|::ffff:/.test(value!) && !(name === 'origin' && origins.has(value!))) addressLabels.push(`${name}=${value}`)
  }
  t.same(addressLabels, [], 'no client address in any label')
  t.notOk(/\b(ip|address|client|remote)="/.test(text), 'no label named after a client address')
})

t.test('429s are counted by budget', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { TOOLGATE_RATE_LIMIT_MCP: '3/minute' })
  t.equal((await gw.applyConfig(documentFor(upstream.url))).status, 200)
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) {
    const response = await fetch(`${gw.url}/mcp/shop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    statuses.push(response.status)
    await response.arrayBuffer()
  }
  t.same(statuses.filter(s => s === 429).length, 2, 'two over the budget')
  const { samples } = parse(await (await scrape(gw.url, ADMIN_TOKEN)).text())
  t.equal(samples.get('toolgate_rate_limit_rejections_total{budget="mcp"}'), 2)
  t.equal(samples.get('toolgate_rate_limit_rejections_total{budget="api"}'), 0)
  t.equal(samples.get('toolgate_http_requests_total{kind="mcp",status="4xx"}'), 5, '3 unauthenticated + 2 rate-limited')
})

t.test('TOOLGATE_METRICS_PORT: a separate listener without auth, and none on the main port', async t => {
  const gw = await startTestGateway(t, { TOOLGATE_METRICS_PORT: '0', TOOLGATE_METRICS_HOST: '127.0.0.1' })
  const metricsUrl = gw.gateway.metricsUrl
  t.ok(metricsUrl, 'the gateway reports the metrics URL')
  t.not(metricsUrl, gw.url)
  const response = await scrape(metricsUrl!)
  t.equal(response.status, 200, 'no token needed there')
  t.same(parse(await response.text()).bad, [])
  t.equal((await scrape(gw.url, ADMIN_TOKEN)).status, 404, 'not on the main port, even with the admin token')
  t.equal((await fetch(`${metricsUrl}/api/v1/config`)).status, 404, 'the metrics listener serves nothing else')
})

t.test('remote-mcp tools are labelled by the names the upstream listed; anything else is _other', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: fixture.url, transport: 'streamable-http', include: ['echo', 'alpha'] }] })).status, 200)
  const client = await gw.connect('fx', await gw.createKey())
  t.same((await client.listTools()).tools.map(tool => tool.name).sort(), ['alpha', 'echo'])
  await client.callTool({ name: 'echo', arguments: { text: CANARY } })
  await client.callTool({ name: 'echo', arguments: { text: 'x' } })
  await client.callTool({ name: 'alpha', arguments: {} })
  await client.callTool({ name: `made-up-${CANARY}`, arguments: {} }).catch(() => {})
  await client.callTool({ name: 'beta', arguments: {} }).catch(() => {})
  const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text()
  const { samples } = parse(text)
  t.equal(samples.get('toolgate_tool_calls_total{server="fx",tool="echo"}'), 2)
  t.equal(samples.get('toolgate_tool_calls_total{server="fx",tool="alpha"}'), 1)
  t.equal(samples.get('toolgate_tool_calls_total{server="fx",tool="_other"}'), 2, 'a made-up name and a tool the include filter hides')
  t.notOk(text.includes(CANARY), 'no argument or client-chosen name in a label')
})
