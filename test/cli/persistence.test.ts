// The zero-setup default, for real: `src/main.ts` with no DATABASE_URL runs an embedded Postgres in
// the data dir. What is applied survives a restart; SIGTERM/SIGINT stop everything cleanly.
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { freePort, killMain, runCli, startMain, type Running } from '../helpers/cli.ts'

// Child processes (each a Node start) are slow on a busy machine: a ceiling, not an expectation.
t.setTimeout(120_000)

const SECRET = 'persisted-secret-3c9d'

/** The embedded Postgres's pid while it runs (from postmaster.pid). */
async function postmasterPid (dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function stopMain (t: Test, running: Running, dataDir: string, signal: NodeJS.Signals): Promise<void> {
  const pgPid = await postmasterPid(dataDir)
  t.ok(alive(pgPid), 'the embedded Postgres runs')
  running.child.kill(signal)
  const { code } = await running.exited
  t.equal(code, 0, `${signal}: the process exits cleanly`)
  t.notOk(existsSync(join(dataDir, 'postgres', 'postmaster.pid')), `${signal}: postmaster.pid is gone`)
  t.notOk(alive(pgPid), `${signal}: the embedded Postgres process is gone`)
}

t.test('config, secrets, keys and the admin token survive a restart on the embedded Postgres', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-persist-'))
  const port = await freePort()
  const env = { PORT: String(port), HOST: '127.0.0.1', TOOLGATE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
  const url = `http://127.0.0.1:${port}`
  const running: Running[] = []
  // The cluster must be stopped before its directory goes.
  t.teardown(async () => {
    for (const r of running) await killMain(r, dataDir)
    await rm(dataDir, { recursive: true, force: true })
  })

  const first = await startMain(env)
  running.push(first)
  t.match(first.stdout, `Toolgate is listening on ${url}`)
  const adminToken = /Admin token \(shown once, only a hash is stored\): (tga_\S+)/.exec(first.stdout)?.[1]
  t.ok(adminToken, 'the first start prints a generated admin token')
  const keyFile = join(dataDir, 'encryption.keys')
  t.match(first.stdout, `Generated an encryption key in ${keyFile}`)
  t.equal((await stat(keyFile)).mode & 0o777, 0o600, 'the key file is private (0600)')

  const admin = (method: string, path: string, body?: unknown) => fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const applied = await admin('PUT', '/config', {
    variables: [{ name: 'TOKEN', kind: 'SECRET', value: SECRET }],
    providers: [{ name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${TOKEN}' } }],
    servers: [{
      name: 'demo',
      tools: [
        { name: 'get_user', provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } }
      ]
    }]
  })
  t.equal(applied.status, 200)
  const exported = await (await admin('GET', '/config')).text()
  const created = await admin('POST', '/api-keys', { endUser: 'alice' })
  t.equal(created.status, 201)
  const { key } = await created.json() as { key: string }

  const callTool = async () => {
    const client = new Client({ name: 'persistence-test', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp/demo`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
    try {
      const result = await client.callTool({ name: 'get_user', arguments: { id: 'ada' } })
      t.notOk(result.isError, 'the tool call works')
      t.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${SECRET}`, 'the secret reaches the upstream')
    } finally {
      await client.close()
    }
  }
  await callTool()

  // The CLI finds the cluster the running gateway serves (no DATABASE_URL), and leaves it running.
  const whileRunning = await runCli(['export', '--json'], { TOOLGATE_DATA_DIR: dataDir })
  t.equal(whileRunning.code, 0, whileRunning.stderr)
  t.same(JSON.parse(whileRunning.stdout), JSON.parse(exported), 'the CLI exports what the running gateway serves')
  await stopMain(t, first, dataDir, 'SIGTERM')

  // With no gateway running, the CLI starts the embedded cluster for itself and stops it after.
  const whileStopped = await runCli(['api-keys', 'list'], { TOOLGATE_DATA_DIR: dataDir })
  t.equal(whileStopped.code, 0, whileStopped.stderr)
  t.match(whileStopped.stdout, 'alice', 'the key is listed')
  t.notOk(existsSync(join(dataDir, 'postgres', 'postmaster.pid')), 'the CLI stopped the cluster it started')

  const second = await startMain(env)
  running.push(second)
  t.match(second.stdout, `Toolgate is listening on ${url}`)
  t.notOk(second.stdout.includes('Admin token'), 'no new admin token on restart')
  t.notOk(second.stdout.includes('Generated an encryption key'), 'no new encryption key on restart')
  const again = await admin('GET', '/config')
  t.equal(again.status, 200, 'the first admin token still works')
  t.equal(await again.text(), exported, 'the config is still there')
  await callTool() // the API key and the sealed secret survived
  await stopMain(t, second, dataDir, 'SIGINT')
})
