// remote-mcp end to end against a small fixture MCP server (test/fixtures/mcp-fixture-server.ts):
// the SDK client talks to Toolgate, Toolgate to the fixture over one pooled upstream session.
import t from 'tap'
import { freePort } from '../fixtures/mcp-everything.ts'
import { startFixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]!.text

async function until (check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('remote-mcp: names, headers, errors, one upstream session, status', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig({
    variables: [{ name: 'UPSTREAM_TOKEN', kind: 'SECRET', value: 'upstream-secret-123' }, { name: 'TEAM', kind: 'ENV', value: 'blue' }],
    servers: [{
      name: 'fx',
      kind: 'remote-mcp',
      url: fixture.url,
      transport: 'streamable-http',
      headers: { Authorization: 'Bearer ${UPSTREAM_TOKEN}', 'X-Team': '${TEAM}' },
      include: ['alpha', 'beta', 'gamma_*', 'headers', 'fail', 'slow', 'echo', 'secret_tool', 'greeting', 'internal_prompt', 'http500'],
      exclude: ['secret_tool', 'internal_*'],
      rename: { alpha: 'first', gamma_two: 'second_gamma' }
    }]
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const key = await gw.createKey()
  const client = await gw.connect('fx', key)

  const tools = (await client.listTools()).tools.map(tool => tool.name)
  t.same(tools, ['first', 'beta', 'gamma_one', 'second_gamma', 'headers', 'fail', 'slow', 'echo'], 'filtered and renamed, in upstream order')
  t.equal(textOf(await client.callTool({ name: 'first', arguments: {} })), 'alpha', 'a renamed tool reaches its upstream tool')
  t.equal(textOf(await client.callTool({ name: 'second_gamma', arguments: {} })), 'gamma_two')
  await t.rejects(client.callTool({ name: 'alpha', arguments: {} }), /Unknown tool: alpha/, 'the old name of a renamed tool is unknown')
  await t.rejects(client.callTool({ name: 'secret_tool', arguments: {} }), /Unknown tool: secret_tool/, 'an excluded tool cannot be called')
  t.notOk(fixture.calls.has('secret_tool'), 'the excluded tool never reached the upstream')

  const prompts = (await client.listPrompts()).prompts.map(prompt => prompt.name)
  t.same(prompts, ['greeting'], 'prompts filtered by include/exclude')
  const prompt = await client.getPrompt({ name: 'greeting', arguments: { who: 'ann' } })
  t.match(JSON.stringify(prompt.messages), /hello ann from greeting/)
  await t.rejects(client.getPrompt({ name: 'internal_prompt', arguments: {} }), /Unknown prompt/)
  const resources = await client.listResources()
  t.same(resources.resources.map(r => r.uri), ['fixture://readme'])
  t.match(JSON.stringify(await client.readResource({ uri: 'fixture://readme' })), /read me/)

  // Headers: the configured ones (secret resolved), never the client's own Authorization.
  const seen = JSON.parse(textOf(await client.callTool({ name: 'headers', arguments: {} }))) as Record<string, string>
  t.equal(seen.authorization, 'Bearer upstream-secret-123', 'the configured Authorization (a SECRET) reached the upstream')
  t.equal(seen['x-team'], 'blue', 'an ENV variable in a header is resolved')
  t.ok(fixture.requestHeaders.length > 0)
  t.notOk(fixture.requestHeaders.some(headers => JSON.stringify(headers).includes(key)), 'the client\'s API key never reached the upstream, in any request')

  // Upstream JSON-RPC errors keep their code and message.
  const failure = await client.callTool({ name: 'fail', arguments: {} }).then(() => undefined, (err: { code: number, message: string }) => err)
  t.equal(failure?.code, -32042, 'the upstream error code is relayed')
  t.match(failure?.message, /fixture failure/)

  // An HTTP 500 for one request is that request's error; the session stays.
  const broken = await client.callTool({ name: 'http500', arguments: {} }).then(() => undefined, (err: { code: number, message: string }) => err)
  t.equal(broken?.code, -32000)
  t.match(broken?.message, /Upstream MCP server of "fx" failed: HTTP 500/, 'the status is named, not the upstream body')
  t.notMatch(broken?.message, /exploded/)

  // Progress is relayed.
  const progress: number[] = []
  const slow = await client.callTool({ name: 'slow', arguments: { ms: 150, steps: 3 } }, undefined, { onprogress: p => progress.push(p.progress) })
  t.equal(textOf(slow), 'slow done')
  t.same(progress, [1, 2, 3], 'every upstream progress notification reached the client')

  // Many calls, concurrent and sequential: still one upstream session.
  await Promise.all(Array.from({ length: 40 }, (_, i) => client.callTool({ name: 'echo', arguments: { text: `n${i}` } })))
  for (let i = 0; i < 10; i++) await client.callTool({ name: 'beta', arguments: {} })
  const other = await gw.connect('fx', await gw.createKey({ endUser: 'bob' }))
  await other.callTool({ name: 'beta', arguments: {} })
  t.equal(fixture.initializes, 1, 'exactly one upstream initialize for all calls of all clients')

  // Status and last connection time in the admin API.
  const server = await (await gw.admin('GET', '/servers/fx')).json() as Record<string, unknown>
  t.equal(server.status, 'running')
  t.ok(typeof server.lastConnectedAt === 'string' && Date.parse(server.lastConnectedAt as string) > Date.now() - 60_000, 'lastConnectedAt is recent')
  t.equal(server.url, fixture.url)
  t.same(server.headers, { Authorization: 'Bearer ${UPSTREAM_TOKEN}', 'X-Team': '${TEAM}' }, 'headers are shown as written, secrets unresolved')
  const list = await (await gw.admin('GET', '/servers')).json() as Array<Record<string, unknown>>
  t.equal(list[0]!.status, 'running', 'the list shows the status too')
  const config = await (await gw.admin('GET', '/config')).text()
  t.notOk(config.includes('upstream-secret-123'), 'the export holds no secret value')
  t.notOk(gw.logs.join('').includes('upstream-secret-123'), 'no log line holds the secret')
})

t.test('remote-mcp: upstream list_changed is relayed, session loss re-initializes, cancellation reaches upstream', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: fixture.url }] })).status, 200)
  const client = await gw.connect('fx', await gw.createKey())
  const upstream = gw.gateway.upstreams.get('fx')!
  t.ok(upstream, 'the directory has the upstream')
  const before = (await client.listTools()).tools.length

  const changes: string[] = []
  gw.gateway.upstreams.on('listChanged', (server, kind) => changes.push(`${server}/${kind}`))
  await fixture.addTool('delta')
  await until(() => changes.includes('fx/tools'), 'the list_changed relay')
  const after = (await client.listTools()).tools.map(tool => tool.name)
  t.equal(after.length, before + 1, 'the cached list was refreshed')
  t.ok(after.includes('delta'))

  // The upstream forgets our session (restart, expiry): 404, re-initialize, the call still succeeds.
  fixture.forgetSessions()
  t.equal(textOf(await client.callTool({ name: 'beta', arguments: {} })), 'beta', 'the call after a 404 succeeds')
  t.equal(fixture.initializes, 2, 'one new upstream session after the 404')
  t.equal(textOf(await client.callTool({ name: 'beta', arguments: {} })), 'beta')
  t.equal(fixture.initializes, 2, 'and it is reused')

  // Cancellation: the client aborts, the upstream sees notifications/cancelled.
  const controller = new AbortController()
  const call = client.callTool({ name: 'slow', arguments: { ms: 3000, steps: 30 } }, undefined, { signal: controller.signal })
  await until(() => (fixture.calls.get('slow') ?? 0) > 0, 'the slow call to start')
  controller.abort()
  await t.rejects(call)
  await until(() => fixture.cancelled.length === 1, 'the upstream to see the cancellation')
  t.pass('the upstream request was cancelled')
})

t.test('remote-mcp: config changes reconcile the live upstreams', async t => {
  const one = await startFixtureServer()
  const two = await startFixtureServer()
  t.teardown(() => one.close())
  t.teardown(() => two.close())
  const gw = await startTestGateway(t)
  const key = await gw.createKey()
  const db = openTestDb(gw.databaseUrl).db
  t.teardown(() => db.destroy())
  const status = async (name: string) => (await db.selectFrom('servers').select(['status', 'last_connected_at']).where('name', '=', name).executeTakeFirst())

  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: one.url }] })).status, 200)
  let client = await gw.connect('fx', key)
  t.equal(textOf(await client.callTool({ name: 'beta', arguments: {} })), 'beta')
  await until(async () => (await status('fx'))?.status === 'running', 'status running')
  const firstUpstream = gw.gateway.upstreams.get('fx')

  // Only the name rules change: same session, new names.
  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: one.url, rename: { beta: 'b' } }] })).status, 200)
  t.equal(gw.gateway.upstreams.get('fx'), firstUpstream, 'a rules-only change keeps the session')
  t.ok((await client.listTools()).tools.some(tool => tool.name === 'b'), 'the new rename applies')
  t.equal(one.initializes, 1, 'no new upstream session for a rules change')
  t.equal((await status('fx'))?.status, 'running', 'the status survives the apply')

  // The URL changes: a new session with the new upstream.
  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: two.url }] })).status, 200)
  client = await gw.connect('fx', key)
  t.equal(textOf(await client.callTool({ name: 'beta', arguments: {} })), 'beta')
  t.equal(two.initializes, 1, 'the new upstream got one session')
  t.equal(two.calls.get('beta'), 1, 'calls now go to the new upstream')
  t.notOk(gw.gateway.upstreams.get('fx') === firstUpstream, 'a new upstream object')

  // Removed: gone from the directory.
  t.equal((await gw.applyConfig({ servers: [] })).status, 200)
  t.equal(gw.gateway.upstreams.get('fx'), undefined, 'a removed server has no upstream')
})

t.test('remote-mcp: an unreachable upstream is reported, then picked up when it appears', async t => {
  const gw = await startTestGateway(t)
  const db = openTestDb(gw.databaseUrl).db
  t.teardown(() => db.destroy())
  const statusOf = async () => (await db.selectFrom('servers').select('status').where('name', '=', 'late').executeTakeFirst())?.status
  const port = await freePort() // nothing listens there yet
  t.equal((await gw.applyConfig({ servers: [{ name: 'late', kind: 'remote-mcp', url: `http://127.0.0.1:${port}/mcp` }] })).status, 200)
  await until(async () => await statusOf() === 'crashed', 'status crashed')
  const upstream = gw.gateway.upstreams.get('late')!
  const failure = await upstream.listTools().then(() => undefined, (err: Error) => err)
  t.match(failure?.message, /^Upstream MCP server of "late" is unavailable \(ECONNREFUSED\)/, 'a call fails with the reason')
  const server = await (await gw.admin('GET', '/servers/late')).json() as Record<string, unknown>
  t.equal(server.status, 'crashed')
  t.equal(server.lastConnectedAt, null, 'never connected')

  const fixture = await startFixtureServer(port)
  t.teardown(() => fixture.close())
  await until(async () => await statusOf() === 'running', 'the retry to connect', 10_000)
  const client = await gw.connect('late', await gw.createKey())
  t.equal(textOf(await client.callTool({ name: 'beta', arguments: {} })), 'beta', 'calls work once the upstream is up')
})

t.test('remote-mcp: completion and shared resource subscriptions (through the directory)', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: fixture.url, exclude: ['internal_*'] }] })).status, 200)
  const upstream = gw.gateway.upstreams.get('fx')!
  t.match(await upstream.capabilities(), { tools: true, resources: true, prompts: true, completions: true, resourceSubscribe: true })

  const completed = await upstream.complete({ ref: { type: 'ref/prompt', name: 'greeting' }, argument: { name: 'who', value: 'an' } })
  t.same(completed.completion, { values: ['ann', 'anna'], hasMore: false }, 'completion/complete is forwarded')
  await t.rejects(upstream.complete({ ref: { type: 'ref/prompt', name: 'internal_prompt' }, argument: { name: 'who', value: '' } }), /Unknown prompt: internal_prompt/, 'an excluded prompt cannot be completed')

  const updates: string[] = []
  gw.gateway.upstreams.on('resourceUpdated', (server, uri) => updates.push(`${server} ${uri}`))
  const releaseOne = await upstream.subscribeResource('fixture://readme')
  const releaseTwo = await upstream.subscribeResource('fixture://readme')
  t.same(fixture.subscriptionRequests, ['+fixture://readme'], 'two client subscriptions, one upstream subscription')
  await fixture.updateResource('fixture://readme')
  await until(() => updates.length === 1, 'the resources/updated relay')
  t.same(updates, ['fx fixture://readme'])

  // The upstream loses our session: the new one is subscribed again.
  fixture.forgetSessions()
  await upstream.listPrompts().catch(() => {}) // served from cache: no upstream request
  await upstream.callTool('beta', {})
  await until(() => fixture.subscriptionRequests.length === 2, 'the subscription to be renewed')
  t.same(fixture.subscriptionRequests, ['+fixture://readme', '+fixture://readme'])

  await releaseOne()
  await releaseOne() // releasing twice counts once
  t.equal(fixture.subscriptionRequests.length, 2, 'still held by the other client')
  await releaseTwo()
  t.same(fixture.subscriptionRequests.at(-1), '-fixture://readme', 'the last release unsubscribes upstream')
})

t.test('remote-mcp: timeoutMs bounds a request, and restarts with each progress notification', async t => {
  const fixture = await startFixtureServer()
  t.teardown(() => fixture.close())
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: fixture.url, timeoutMs: 400 }] })).status, 200)
  const client = await gw.connect('fx', await gw.createKey())

  const progress: number[] = []
  const long = await client.callTool({ name: 'slow', arguments: { ms: 900, steps: 6 } }, undefined, { onprogress: p => progress.push(p.progress), timeout: 5000 })
  t.equal(textOf(long), 'slow done', '900 ms in all, but progress every 150 ms: no timeout')
  t.same(progress, [1, 2, 3, 4, 5, 6])

  const silent = await client.callTool({ name: 'slow', arguments: { ms: 900 } }, undefined, { timeout: 5000 }).then(() => undefined, (err: { code: number, message: string }) => err)
  t.equal(silent?.code, -32001, 'no progress: the upstream request times out')
  t.match(silent?.message, /Request timed out/)
  const silentWithProgress = await client.callTool({ name: 'slow', arguments: { ms: 900, steps: 1 } }, undefined, { onprogress: () => {}, timeout: 5000 }).then(() => undefined, (err: { code: number }) => err)
  t.equal(silentWithProgress?.code, -32001, 'progress asked for but too rare: timed out too')
  await until(() => fixture.cancelled.length >= 1, 'the upstream to be told')
  t.pass('the timed-out request was cancelled upstream')
})

t.test('remote-mcp: maxResponseBytes caps an upstream answer; the session stays', async t => {
  const json = await startFixtureServer({ jsonResponse: true })
  const sse = await startFixtureServer()
  t.teardown(() => json.close())
  t.teardown(() => sse.close())
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig({
    servers: [
      { name: 'json', kind: 'remote-mcp', url: json.url, maxResponseBytes: 4000 },
      { name: 'sse', kind: 'remote-mcp', url: sse.url, maxResponseBytes: 4000, timeoutMs: 1500 }
    ]
  })
  t.equal(applied.status, 200)
  const key = await gw.createKey()

  const viaJson = await gw.connect('json', key)
  t.equal(textOf(await viaJson.callTool({ name: 'pad', arguments: { bytes: 1000 } })).length, 1000, 'under the cap')
  const big = await viaJson.callTool({ name: 'pad', arguments: { bytes: 10_000 } }).then(() => undefined, (err: { code: number, message: string }) => err)
  t.equal(big?.code, -32000)
  t.match(big?.message, /upstream response over 4000 bytes \(maxResponseBytes\)/, 'a JSON answer over the cap is refused with the reason')
  t.equal(textOf(await viaJson.callTool({ name: 'beta', arguments: {} })), 'beta', 'the next call works')
  t.equal(json.initializes, 1, 'on the same session')

  // An SSE answer over the cap is cut; the SDK then waits for the rest, so the call ends by timeout.
  const viaSse = await gw.connect('sse', key)
  const cut = await viaSse.callTool({ name: 'pad', arguments: { bytes: 10_000 } }, undefined, { timeout: 10_000 }).then(() => undefined, (err: { code: number }) => err)
  t.ok(cut, 'an SSE answer over the cap fails')
  t.equal(textOf(await viaSse.callTool({ name: 'beta', arguments: {} })), 'beta', 'and the session still serves calls')
})
