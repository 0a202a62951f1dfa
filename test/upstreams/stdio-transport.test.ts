// The stdio hosting transport against real child processes: an SDK Client over it to
// server-everything (directly and through npx) and to the fixture server; environment isolation;
// crash reporting; stdout that is not JSON-RPC; spawn failures that name no secret; close ending
// the whole process tree, by PID.
import t, { type Test } from 'tap'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { liveStdioChildPids } from '../../src/upstreams/stdio-children.ts'
import { StdioExitedError, StdioProtocolError, StdioSpawnError } from '../../src/upstreams/stdio-errors.ts'
import { childEnvironment } from '../../src/upstreams/stdio-environment.ts'
import { createStdioTransport, type StdioSpec, type StdioTransport } from '../../src/upstreams/stdio-transport.ts'
import { startCleanHost } from '../fixtures/stdio-clean-host.ts'
import { captureLog } from '../fixtures/stdio-log-capture.ts'
import { FIXTURE_SERVER, NODE, SERVER_EVERYTHING, isRunning, killLeftoversAtTeardown, processGroupMembers, stillRunningAfter } from '../fixtures/stdio-process-checks.ts'

// Each case starts Node processes on a shared, busy machine: a ceiling, not an expectation.
t.setTimeout(120_000)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const fixture = (...flags: string[]): StdioSpec => ({ command: NODE, args: [FIXTURE_SERVER, ...flags], env: {} })
type ToolResult = { content: Array<{ type: string, text: string }>, isError?: boolean }
const textOf = (result: unknown) => (result as ToolResult).content[0]!.text

async function connect (t: Test, transport: StdioTransport): Promise<Client> {
  const client = new Client({ name: 'stdio-transport-test', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close().catch(() => {}))
  return client
}

t.test('an SDK client lists and calls the tools of server-everything run with node', async t => {
  const log = captureLog()
  const transport = createStdioTransport({ command: NODE, args: [SERVER_EVERYTHING, 'stdio'], env: {} }, { logger: log.logger, redact: [], serverName: 'everything' })
  const client = await connect(t, transport)
  const { tools } = await client.listTools()
  const names = tools.map(tool => tool.name)
  t.ok(names.includes('echo'), `echo is listed among ${names.length} tools`)
  const result = await client.callTool({ name: 'echo', arguments: { message: 'through the stdio transport' } })
  t.match(textOf(result), /through the stdio transport/)
  const pid = transport.pid!
  t.ok(isRunning(pid), 'the child runs while connected')
  await client.close()
  t.notOk(isRunning(pid), 'close() resolves only once the child is gone')
  t.same(liveStdioChildPids(), [], 'nothing is left tracked')
})

t.test('npx → sh → node: the whole tree runs with PATH only, and close ends every process of it', async t => {
  const log = captureLog()
  const transport = createStdioTransport(
    { command: 'npx', args: ['--no-install', 'mcp-server-everything', 'stdio'], env: {}, cwd: ROOT },
    // The project's Node 24 first, as npm scripts have it.
    { logger: log.logger, redact: [], serverName: 'everything-npx', inheritedPath: `${ROOT}node_modules/.bin:${process.env.PATH}` }
  )
  const client = await connect(t, transport)
  const result = await client.callTool({ name: 'echo', arguments: { message: 'via npx' } })
  t.match(textOf(result), /via npx/)
  const tree = processGroupMembers(transport.pid!)
  killLeftoversAtTeardown(t, tree)
  t.ok(tree.length >= 2, `npx started more processes in the group: ${tree.join(', ')}`)
  t.ok(tree.includes(transport.pid!), 'npx leads the group')
  await client.close()
  t.same(tree.filter(isRunning), [], 'no process of the tree is left')
  t.same(processGroupMembers(transport.pid!), [], 'the group is empty')
})

t.test('the fixture server: tools listed and called', async t => {
  const log = captureLog()
  const client = await connect(t, createStdioTransport(fixture(), { logger: log.logger, redact: [], serverName: 'fixture' }))
  const { tools } = await client.listTools()
  t.same(tools.map(tool => tool.name), ['echo', 'env', 'pids', 'stderr', 'stdout_garbage', 'exit'])
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } })), 'héllo ✓')
  // Several pipe buffers each way: framing across chunks and write backpressure.
  const big = 'ü0123456789'.repeat(200_000)
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: big } })), big, 'a 2 MB argument and result go through whole')
  const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => client.callTool({ name: 'echo', arguments: { text: `call ${i}` } })))
  t.same(parallel.map(textOf), Array.from({ length: 20 }, (_, i) => `call ${i}`), 'concurrent calls each get their own answer')
})

t.test('a server that exits at once: connect fails, the exit and its stderr are reported', async t => {
  const log = captureLog()
  const transport = createStdioTransport({ command: NODE, args: ['/nonexistent/server.js'], env: {} }, { logger: log.logger, redact: [], serverName: 'broken' })
  const errors: Error[] = []
  transport.onerror = err => { errors.push(err) }
  const closed = new Promise<void>(resolve => { transport.onclose = resolve })
  const client = new Client({ name: 'stdio-transport-test', version: '1.0.0' })
  await t.rejects(client.connect(transport), 'initialize fails')
  await closed
  t.match(errors.find(err => err instanceof StdioExitedError), { exitCode: 1 })
  t.ok(log.stderrLines().some(line => /Cannot find module/.test(line.msg)), 'what it said on stderr is in the log')
  t.same(liveStdioChildPids(), [])
})

t.test('the child gets only its declared environment plus PATH', async t => {
  // A gateway process holding what a real one holds; none of it may reach a hosted server. The
  // host runs clean (stdio-clean-host.ts) so that only the transport decides the child's env.
  const gatewayEnv = {
    DATABASE_URL: 'postgres://toolgate:canary-db-password@db/toolgate',
    TOOLGATE_ADMIN_TOKEN: 'tga_canary-admin-token',
    TOOLGATE_ENCRYPTION_KEYS: 'k1:canary-key-material',
    HOME: '/home/canary-home',
    LANG: 'C.UTF-8'
  }
  const declared = { GITHUB_TOKEN: 'ghp_declared-secret', MODE: 'test' }
  const host = startCleanHost('report-env', { env: declared, redact: [declared.GITHUB_TOKEN] }, gatewayEnv)
  const { env } = await host.next() as { env: Record<string, string> }
  await host.exited
  t.same(Object.keys(env).sort(), ['GITHUB_TOKEN', 'MODE', 'PATH'], 'declared variables and PATH, nothing else')
  t.equal(env.GITHUB_TOKEN, declared.GITHUB_TOKEN, 'the declared secret is there, decrypted')
  t.equal(env.PATH, process.env.PATH, 'PATH is the gateway\'s')
  for (const value of Object.values(gatewayEnv)) t.notOk(JSON.stringify(env).includes(value), `${value} did not reach the child`)
  t.match(host.stderr(), /stdio server started/, 'the host logged')
  t.notOk(host.stderr().includes(declared.GITHUB_TOKEN), 'the secret is never logged')

  const pinned = startCleanHost('report-env', { env: { PATH: '/usr/bin:/bin', ONLY: '1' } }, gatewayEnv)
  t.same((await pinned.next()).env, { PATH: '/usr/bin:/bin', ONLY: '1' }, 'a declared PATH wins')
  await pinned.exited
})

t.test('the environment built for a child', async t => {
  t.same(childEnvironment({ A: '1' }, '/bin'), { PATH: '/bin', A: '1' })
  t.same(childEnvironment({ PATH: '/mine', A: '1' }, '/bin'), { PATH: '/mine', A: '1' })
  t.same(childEnvironment({}, undefined), {})
})

t.test('a crash fires onerror with the exit code, then onclose, and ends the rest of the group', async t => {
  const log = captureLog()
  const transport = createStdioTransport(fixture('--grandchild'), { logger: log.logger, redact: [], serverName: 'crashy' })
  const events: Array<string | Error> = []
  transport.onerror = err => { events.push(err) }
  const closed = new Promise<void>(resolve => { transport.onclose = () => { events.push('close'); resolve() } })
  const client = await connect(t, transport)
  const { grandchildPid } = JSON.parse(textOf(await client.callTool({ name: 'pids', arguments: {} }))) as { grandchildPid: number }
  killLeftoversAtTeardown(t, [transport.pid!, grandchildPid])
  t.ok(isRunning(grandchildPid), 'the grandchild runs')

  await t.rejects(client.callTool({ name: 'exit', arguments: { code: 3 } }), 'the call in flight fails')
  await closed
  const exit = events.find(event => event instanceof StdioExitedError) as StdioExitedError | undefined
  t.ok(exit, 'onerror got a StdioExitedError')
  t.equal(exit?.exitCode, 3)
  t.equal(exit?.signal, null)
  t.equal(exit?.code, 'TG_ERR_STDIO_EXITED')
  t.match(exit?.message ?? '', /crashy .*exited with code 3/)
  t.ok(events.indexOf(exit!) < events.indexOf('close'), 'onerror comes before onclose')
  t.equal(events.filter(event => event === 'close').length, 1, 'onclose fires once')
  t.notOk(isRunning(grandchildPid), 'the orphaned grandchild was ended too')
  t.notOk(isRunning(transport.pid!), 'the child is gone')
  t.match(log.lines().find(line => line.msg === 'stdio server exited'), { server: 'crashy', exitCode: 3, level: 40 })
  await transport.close()
  t.equal(events.filter(event => event === 'close').length, 1, 'a later close() fires nothing more')
  await t.rejects(transport.send({ jsonrpc: '2.0', method: 'ping', id: 1 }), { code: 'TG_ERR_STDIO_NOT_RUNNING' })
})

t.test('a child killed by a signal is reported with that signal', async t => {
  const log = captureLog()
  const transport = createStdioTransport(fixture(), { logger: log.logger, redact: [], serverName: 'killed' })
  const errors: Error[] = []
  transport.onerror = err => { errors.push(err) }
  const closed = new Promise<void>(resolve => { transport.onclose = resolve })
  await connect(t, transport)
  process.kill(transport.pid!, 'SIGKILL')
  await closed
  const exit = errors.find(err => err instanceof StdioExitedError) as StdioExitedError
  t.equal(exit.signal, 'SIGKILL')
  t.equal(exit.exitCode, null)
})

t.test('stdout lines that are not JSON-RPC are reported without their content, and the session goes on', async t => {
  const log = captureLog()
  const transport = createStdioTransport(fixture(), { logger: log.logger, redact: [], serverName: 'noisy' })
  const errors: Error[] = []
  transport.onerror = err => { errors.push(err) }
  const client = await connect(t, transport)
  await client.callTool({ name: 'stdout_garbage', arguments: { text: 'debug: payload CANARY-STDOUT-1' } })
  await client.callTool({ name: 'stdout_garbage', arguments: { text: '{"CANARY-STDOUT-2": true}' } })
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } })), 'still here')
  const protocolErrors = errors.filter(err => err instanceof StdioProtocolError)
  t.equal(protocolErrors.length, 2, 'each bad line is reported')
  t.match(protocolErrors[0]!.message, /noisy: wrote a stdout line that is not JSON/)
  t.match(protocolErrors[1]!.message, /not a JSON-RPC message/)
  const everything = JSON.stringify(errors.map(err => ({ ...err, text: err.message, stack: err.stack }))) + log.raw.join('')
  t.notOk(everything.includes('CANARY-STDOUT'), 'stdout content is in no error and no log line')
  t.notOk(log.raw.join('').includes('still here'), 'protocol payload is never logged')
})

t.test('a stdout message over the size bound: reported, and the child is ended for a restart', async t => {
  const log = captureLog()
  const transport = createStdioTransport(fixture('--grandchild'), { logger: log.logger, redact: [], serverName: 'huge', maxMessageBytes: 64 * 1024 })
  const errors: Error[] = []
  transport.onerror = err => { errors.push(err) }
  const closed = new Promise<void>(resolve => { transport.onclose = resolve })
  const client = await connect(t, transport)
  const { grandchildPid } = JSON.parse(textOf(await client.callTool({ name: 'pids', arguments: {} }))) as { grandchildPid: number }
  killLeftoversAtTeardown(t, [transport.pid!, grandchildPid])
  await t.rejects(client.callTool({ name: 'echo', arguments: { text: 'y'.repeat(200 * 1024) } }), 'the call whose answer is too big fails')
  await closed
  t.match(errors.map(err => err.message), [/huge: a stdout message exceeded 65536 bytes; closing/])
  t.notOk(isRunning(transport.pid!) || isRunning(grandchildPid), 'the child and its grandchild were ended')
})

t.test('a command that cannot start: a clear error that names no argument or secret', async t => {
  const log = captureLog()
  const secret = 'sk-spawn-canary-secret'
  const transport = createStdioTransport(
    { command: '/nonexistent/mcp-server', args: [`--api-key=${secret}`], env: { API_KEY: secret } },
    { logger: log.logger, redact: [secret], serverName: 'missing' }
  )
  let closes = 0
  transport.onclose = () => { closes++ }
  const err = await transport.start().then(() => undefined, (error: unknown) => error) as StdioSpawnError
  t.ok(err instanceof StdioSpawnError, 'a StdioSpawnError')
  t.equal(err.code, 'TG_ERR_STDIO_SPAWN')
  t.equal(err.errno, 'ENOENT')
  t.equal(err.message, 'stdio server missing: cannot start `/nonexistent/mcp-server` (ENOENT: command or cwd not found)')
  t.notOk(JSON.stringify({ ...err, stack: err.stack }).includes(secret), 'no secret in the error or its fields')
  t.notOk(log.raw.join('').includes(secret))
  t.same(liveStdioChildPids(), [])
  await transport.close()
  t.equal(closes, 0, 'nothing to close, no onclose')

  const badCwd = createStdioTransport({ ...fixture(), cwd: '/nonexistent/dir' }, { logger: log.logger, redact: [], serverName: 'bad-cwd' })
  await t.rejects(badCwd.start(), { code: 'TG_ERR_STDIO_SPAWN', errno: 'ENOENT' })
  await t.rejects(badCwd.start(), /start\(\) called twice/)
})

t.test('close ends the child and its grandchild; close is idempotent and fires onclose once', async t => {
  const log = captureLog()
  const transport = createStdioTransport(fixture('--grandchild'), { logger: log.logger, redact: [], serverName: 'tree' })
  let closes = 0
  transport.onclose = () => { closes++ }
  const client = await connect(t, transport)
  const { pid, grandchildPid } = JSON.parse(textOf(await client.callTool({ name: 'pids', arguments: {} }))) as { pid: number, grandchildPid: number }
  killLeftoversAtTeardown(t, [pid, grandchildPid])
  t.equal(pid, transport.pid, 'pid is the child\'s')
  t.ok(isRunning(pid) && isRunning(grandchildPid), 'both run')
  t.same(liveStdioChildPids(), [pid], 'tracked while it runs')
  await Promise.all([transport.close(), transport.close()])
  t.notOk(isRunning(pid), 'child gone')
  t.notOk(isRunning(grandchildPid), 'grandchild gone (it shared the pipes: close waited for it)')
  t.equal(closes, 1)
  t.same(liveStdioChildPids(), [])
  t.match(log.lines().find(line => line.msg === 'stdio server stopped'), { server: 'tree', childPid: pid, ending: 'terminated' })
  await t.rejects(transport.send({ jsonrpc: '2.0', method: 'ping', id: 1 }), { code: 'TG_ERR_STDIO_NOT_RUNNING' })
})

t.test('a tree that ignores SIGTERM is killed after the grace period', async t => {
  // In a clean host: the test runner's exit handlers in a Node child would change how it takes SIGTERM.
  const graceMs = 400
  const host = startCleanHost('close', { flags: ['--grandchild', '--ignore-sigterm'], killGraceMs: graceMs })
  const { pid, grandchildPid } = await host.next() as { pid: number, grandchildPid: number }
  killLeftoversAtTeardown(t, [pid, grandchildPid])
  t.ok(isRunning(pid) && isRunning(grandchildPid), 'both run')
  const { closeMs } = await host.next() as { closeMs: number }
  await host.exited
  t.ok(closeMs >= graceMs, `SIGTERM was given its grace period (${closeMs} ms)`)
  t.ok(closeMs < graceMs + 2000, 'then SIGKILL ended it promptly')
  t.same(await stillRunningAfter([pid, grandchildPid], 0), [], 'both were killed')
  t.match(host.stderr(), /"ending":"killed"/, 'the log says it had to be killed')
})

t.test('close before start, and close during start', async t => {
  const log = captureLog()
  const unused = createStdioTransport(fixture(), { logger: log.logger, redact: [], serverName: 'unused' })
  let closes = 0
  unused.onclose = () => { closes++ }
  await unused.close()
  t.equal(closes, 1, 'onclose fires, as the Transport contract asks')
  t.equal(unused.pid, undefined)

  const racing = createStdioTransport(fixture(), { logger: log.logger, redact: [], serverName: 'racing' })
  const starting = racing.start()
  await racing.close()
  await starting
  t.ok(racing.pid, 'it had started')
  t.notOk(isRunning(racing.pid!), 'and close ended it')
  t.same(liveStdioChildPids(), [])
})
