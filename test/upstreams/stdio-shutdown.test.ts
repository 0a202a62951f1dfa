// No process leaks: a Toolgate process that gets SIGTERM leaves no stdio child behind (whether
// its shutdown code closes them or only exits), closeAllStdioChildren() ends everything, and
// many open/close cycles leave nothing running, tracked or listening. Checked by PID.
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { closeAllStdioChildren, liveStdioChildPids } from '../../src/upstreams/stdio-children.ts'
import { createStdioTransport, type StdioTransport } from '../../src/upstreams/stdio-transport.ts'
import { startCleanHost } from '../fixtures/stdio-clean-host.ts'
import { captureLog } from '../fixtures/stdio-log-capture.ts'
import { FIXTURE_SERVER, NODE, isRunning, killLeftoversAtTeardown, stillRunningAfter } from '../fixtures/stdio-process-checks.ts'

t.setTimeout(180_000)

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]!.text

for (const [mode, how] of [['close-all', 'closes every child, then exits'], ['exit-only', 'only exits (the exit hook ends the children)']] as const) {
  t.test(`SIGTERM to a hosting process that ${how}: no child is left`, async t => {
    const host = startCleanHost(mode, { flags: ['--grandchild'] })
    t.teardown(() => { host.process.kill('SIGKILL') })
    const { pid, grandchildPid } = await host.next() as { pid: number, grandchildPid: number }
    killLeftoversAtTeardown(t, [pid, grandchildPid])
    t.ok(isRunning(pid) && isRunning(grandchildPid), `child ${pid} and grandchild ${grandchildPid} run`)
    host.process.kill('SIGTERM')
    const exit = await host.exited
    t.same(exit, { code: 0, signal: null }, 'the host exited normally')
    // SIGKILL from the exit hook is sent before the host exits; the kernel may take a moment to act on it.
    t.same(await stillRunningAfter([pid, grandchildPid], mode === 'close-all' ? 0 : 2000), [], 'child and grandchild are gone')
  })
}

t.test('graceful shutdown of a tree that ignores SIGTERM: killed within the grace period, then the host exits', async t => {
  const host = startCleanHost('close-all', { flags: ['--grandchild', '--ignore-sigterm'], killGraceMs: 300 })
  t.teardown(() => { host.process.kill('SIGKILL') })
  const { pid, grandchildPid } = await host.next() as { pid: number, grandchildPid: number }
  killLeftoversAtTeardown(t, [pid, grandchildPid])
  host.process.kill('SIGTERM')
  t.same(await host.exited, { code: 0, signal: null })
  t.same(await stillRunningAfter([pid, grandchildPid], 0), [], 'nothing is left')
  t.match(host.stderr(), /"ending":"killed"/)
})

t.test('closeAllStdioChildren ends every live child at once', async t => {
  const log = captureLog()
  const transports: StdioTransport[] = []
  const clients: Client[] = []
  for (let i = 0; i < 4; i++) {
    const transport = createStdioTransport({ command: NODE, args: [FIXTURE_SERVER, '--grandchild'], env: {} }, { logger: log.logger, redact: [], serverName: `s${i}` })
    const client = new Client({ name: 'close-all-test', version: '1.0.0' })
    transports.push(transport)
    clients.push(client)
  }
  await Promise.all(clients.map((client, i) => client.connect(transports[i]!)))
  const pids = (await Promise.all(clients.map(async client => JSON.parse(textOf(await client.callTool({ name: 'pids', arguments: {} }))) as { pid: number, grandchildPid: number })))
    .flatMap(({ pid, grandchildPid }) => [pid, grandchildPid])
  killLeftoversAtTeardown(t, pids)
  t.equal(pids.filter(isRunning).length, 8, 'four children and four grandchildren run')
  t.same(liveStdioChildPids().sort(), transports.map(transport => transport.pid!).sort(), 'all four are tracked')
  await closeAllStdioChildren()
  t.same(pids.filter(isRunning), [], 'all eight are gone when it resolves')
  t.same(liveStdioChildPids(), [])
})

t.test('many open/close cycles leave no process, no tracked child, no listener', async t => {
  const log = captureLog()
  const exitListenersBefore = process.listenerCount('exit')
  const childHandles = () => process.getActiveResourcesInfo().filter(kind => kind === 'ProcessWrap' || kind === 'PipeWrap').length
  const handlesBefore = childHandles()
  const pids: number[] = []
  const cycles = 20
  for (let i = 0; i < cycles; i++) {
    const transport = createStdioTransport({ command: NODE, args: [FIXTURE_SERVER, '--grandchild'], env: { CYCLE: String(i) } }, { logger: log.logger, redact: [], serverName: 'cycle' })
    const client = new Client({ name: 'cycle-test', version: '1.0.0' })
    await client.connect(transport)
    const { pid, grandchildPid } = JSON.parse(textOf(await client.callTool({ name: 'pids', arguments: {} }))) as { pid: number, grandchildPid: number }
    pids.push(pid, grandchildPid)
    killLeftoversAtTeardown(t, [pid, grandchildPid])
    // Alternate who ends it: the client (close through the Protocol) or the transport itself.
    if (i % 2 === 0) await client.close()
    else await transport.close()
    t.notOk(isRunning(pid) || isRunning(grandchildPid), `cycle ${i}: nothing left`)
  }
  t.equal(new Set(pids).size, cycles * 2, 'every cycle had its own processes')
  t.same(pids.filter(isRunning), [], 'none of them runs')
  t.same(liveStdioChildPids(), [], 'none is tracked')
  t.ok(process.listenerCount('exit') <= exitListenersBefore + 1, 'at most the one exit hook was added')
  t.equal(log.lines().filter(line => line.msg === 'stdio server stopped').length, cycles, 'each stop was logged once')
  t.equal(childHandles(), handlesBefore, `no process or pipe handle is held (the runner's own: ${handlesBefore})`)
})
