// The stdio server kind through the gateway: deployed by applying the config, its tools listed
// and called with the SDK client, restarted after a crash, its secrets only in its environment
// (and masked in its stderr), and no process left after undeploy. Processes are checked by PID.
import t from 'tap'
import { liveStdioChildPids } from '../../src/upstreams/stdio-children.ts'
import { FIXTURE_SERVER, NODE, SERVER_EVERYTHING, stillRunningAfter } from '../fixtures/stdio-process-checks.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const textOf = (result: unknown) => (result as { content: Array<{ type: string, text: string }> }).content.find(item => item.type === 'text')!.text

async function until (check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

t.test('server-everything as a stdio server: list, call, undeploy leaves no process', async t => {
  const gw = await startTestGateway(t)
  const before = new Set(liveStdioChildPids())
  const applied = await gw.applyConfig({ servers: [{ name: 'everything', kind: 'stdio', command: NODE, args: [SERVER_EVERYTHING, 'stdio'] }] })
  t.equal(applied.status, 200, await applied.clone().text())
  const client = await gw.connect('everything', await gw.createKey())
  const tools = (await client.listTools()).tools.map(tool => tool.name)
  t.ok(tools.includes('echo') && tools.includes('get-sum'), 'its tools are listed')
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'via stdio' } })), 'Echo: via stdio')
  t.match(textOf(await client.callTool({ name: 'get-sum', arguments: { a: 20, b: 22 } })), /42/)
  await Promise.all(Array.from({ length: 20 }, (_, i) => client.callTool({ name: 'get-sum', arguments: { a: i, b: 1 } })))
  const pids = liveStdioChildPids().filter(pid => !before.has(pid))
  t.equal(pids.length, 1, 'one child process for the server, however many calls')

  t.equal((await gw.applyConfig({ servers: [] })).status, 200, 'undeployed')
  t.same(await stillRunningAfter(pids, 5000), [], 'the child is gone after undeploy')
  await until(() => liveStdioChildPids().every(pid => before.has(pid)), 'the child to be untracked')
})

t.test('stdio: secrets only in the child env and masked in its stderr; restart after a crash', async t => {
  const secret = 'stdio-secret-canary-77d1'
  const gw = await startTestGateway(t)
  const db = openTestDb(gw.databaseUrl).db
  t.teardown(() => db.destroy())
  const applied = await gw.applyConfig({
    variables: [{ name: 'API_TOKEN', kind: 'SECRET', value: secret }],
    servers: [{ name: 'hosted', kind: 'stdio', command: NODE, args: [FIXTURE_SERVER], env: { SERVICE_TOKEN: '${API_TOKEN}', MODE: 'test' } }]
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const client = await gw.connect('hosted', await gw.createKey())

  const env = JSON.parse(textOf(await client.callTool({ name: 'env', arguments: {} }))) as Record<string, string>
  t.equal(env.SERVICE_TOKEN, secret, 'the secret was decrypted into the child env')
  t.equal(env.MODE, 'test')
  t.notOk('DATABASE_URL' in env || 'TOOLGATE_ENCRYPTION_KEYS' in env, 'nothing of the gateway\'s own environment')
  await client.callTool({ name: 'stderr', arguments: { lines: [`token is ${secret}`] } })
  await until(() => gw.logs.some(line => line.includes('token is [REDACTED]')), 'the stderr line in the log')
  t.notOk(gw.logs.join('').includes(secret), 'the secret is in no log line')

  // Crash: the child is killed; the next session is a new child, and calls work again.
  const { pid } = JSON.parse(textOf(await client.callTool({ name: 'pids', arguments: {} }))) as { pid: number }
  const connectedBefore = (await db.selectFrom('servers').select('last_connected_at').where('name', '=', 'hosted').executeTakeFirstOrThrow()).last_connected_at!
  process.kill(pid, 'SIGKILL')
  t.same(await stillRunningAfter([pid], 5000), [], 'the child died')
  await until(() => gw.gateway.upstreams.get('hosted')?.status === 'running' && !liveStdioChildPids().includes(pid) && liveStdioChildPids().length > 0, 'a restarted child')
  const again = JSON.parse(textOf(await client.callTool({ name: 'pids', arguments: {} }))) as { pid: number }
  t.not(again.pid, pid, 'a new child process serves the calls')
  t.ok(gw.logs.some(line => line.includes('upstream MCP session lost')), 'the crash was logged')
  await until(async () => {
    const row = await db.selectFrom('servers').select(['status', 'last_connected_at']).where('name', '=', 'hosted').executeTakeFirstOrThrow()
    return row.status === 'running' && row.last_connected_at!.getTime() > connectedBefore.getTime()
  }, 'the new connection time recorded')

  // A stopped gateway ends its children.
  await gw.stop()
  t.same(await stillRunningAfter([again.pid], 5000), [], 'no child left after the gateway stops')
})

t.test('stdio: a command that cannot start is reported as crashed, with backoff', async t => {
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig({ servers: [{ name: 'broken', kind: 'stdio', command: '/nonexistent/mcp-server' }] })).status, 200)
  await until(async () => (await (await gw.admin('GET', '/servers/broken')).json() as { status: string }).status === 'crashed', 'status crashed')
  const failure = await gw.gateway.upstreams.get('broken')!.listTools().then(() => undefined, (err: Error) => err)
  t.match(failure?.message, /Upstream MCP server of "broken" is unavailable \(stdio server broken: cannot start `\/nonexistent\/mcp-server` \(ENOENT/)
  const attempts = () => gw.logs.filter(line => line.includes('upstream MCP connect failed')).length
  const seen = attempts()
  await new Promise(resolve => setTimeout(resolve, 1200))
  t.ok(attempts() - seen <= 3, `retries are spaced out (${attempts() - seen} in 1.2 s)`)
})
