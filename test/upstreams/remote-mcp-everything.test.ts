// Issue 3 acceptance: a remote-mcp server in front of @modelcontextprotocol/server-everything,
// over Streamable HTTP and over legacy HTTP+SSE (each a real child process on a loopback port),
// listed and called through Toolgate with the official SDK client. One upstream session per
// server however many calls; a restarted upstream is picked up again.
import t from 'tap'
import { startEverything, type EverythingTransport } from '../fixtures/mcp-everything.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const textOf = (result: unknown) => (result as { content: Array<{ type: string, text: string }> }).content.find(item => item.type === 'text')!.text

const cases: Array<{ transport: EverythingTransport, config: 'streamable-http' | 'sse' | 'auto' }> = [
  { transport: 'streamableHttp', config: 'streamable-http' },
  { transport: 'sse', config: 'auto' } // auto: the initialize POST gets a 4xx, then the SSE GET works
]

for (const { transport, config } of cases) {
  t.test(`server-everything over ${transport} (transport: ${config})`, async t => {
    const everything = await startEverything(transport)
    t.teardown(() => everything.stop())
    const gw = await startTestGateway(t)
    const applied = await gw.applyConfig({ servers: [{ name: 'everything', kind: 'remote-mcp', url: everything.url, transport: config, exclude: ['trigger-*-request*', 'trigger-url-*'] }] })
    t.equal(applied.status, 200, await applied.clone().text())
    const client = await gw.connect('everything', await gw.createKey())

    const tools = (await client.listTools()).tools.map(tool => tool.name)
    t.ok(tools.includes('echo') && tools.includes('get-sum'), 'its tools are listed')
    t.notOk(tools.some(name => name.startsWith('trigger-sampling') || name.startsWith('trigger-elicitation')), 'excluded tools are not listed')

    // Every progress notification arrives, the last one too (it comes with the result).
    const progress: number[] = []
    const done = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: p => progress.push(p.progress) })
    t.match(textOf(done), /Long running operation completed/)
    t.same(progress, [1, 2, 3], 'all three progress notifications reached the client')
    t.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi there' } })), 'Echo: hi there')
    t.match(textOf(await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } })), /42/)
    const prompts = (await client.listPrompts()).prompts
    t.ok(prompts.length > 0, 'its prompts are listed')
    const resources = (await client.listResources()).resources
    t.ok(resources.length > 0, 'its resources are listed')

    // Many calls, one upstream session.
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.callTool({ name: 'get-sum', arguments: { a: i, b: 1 } })))
    for (let i = 0; i < 10; i++) await client.callTool({ name: 'echo', arguments: { message: `m${i}` } })
    t.equal(everything.sessions, 1, 'exactly one upstream initialize after 60+ calls')

    // The upstream restarts (all its sessions gone). Streamable HTTP: the next call gets 404/400
    // for its session, re-initializes and succeeds. Legacy SSE: the event stream drops, and the
    // session is re-established (with backoff while the server is still down) before calls work.
    await everything.restart()
    if (transport === 'sse') await until(() => gw.gateway.upstreams.get('everything')?.status === 'running' && everything.sessions === 2, 'the SSE session to come back')
    t.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'after restart' } })), 'Echo: after restart')
    t.equal(everything.sessions, 2, 'one new upstream session after the restart')

    const db = openTestDb(gw.databaseUrl).db
    t.teardown(() => db.destroy())
    const row = await db.selectFrom('servers').select(['status', 'last_connected_at']).where('name', '=', 'everything').executeTakeFirstOrThrow()
    t.equal(row.status, 'running')
    t.ok(row.last_connected_at, 'last_connected_at is recorded')
  })
}

async function until (check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
