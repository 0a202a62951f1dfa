// Graceful shutdown of the real process entry on the embedded Postgres: a call in flight when
// SIGTERM arrives still completes, then the process exits and the cluster is stopped.
import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { freePort, killMain, startMain } from '../helpers/cli.ts'

// Child processes (each a Node start) are slow on a busy machine: a ceiling, not an expectation.
t.setTimeout(120_000)

/** Resolves with the exit, or with undefined when the process is still running after `ms`. */
async function exitWithin<T> (exited: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const giveUp = new Promise<undefined>(resolve => { timer = setTimeout(resolve, ms, undefined) })
  try {
    return await Promise.race([exited, giveUp])
  } finally {
    clearTimeout(timer)
  }
}

t.test('SIGTERM lets a call in flight finish, then stops everything', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-drain-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const adminToken = 'tga_drain-test-admin-token'
  const main = await startMain({ PORT: String(port), HOST: '127.0.0.1', TOOLGATE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', TOOLGATE_ADMIN_TOKEN: adminToken })
  // The cluster must be stopped before its directory goes.
  t.teardown(async () => {
    await killMain(main, dataDir)
    await rm(dataDir, { recursive: true, force: true })
  })
  const admin = (method: string, path: string, body: unknown) => fetch(`${url}/api/v1${path}`, {
    method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  t.equal((await admin('PUT', '/config', {
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{ name: 'demo', tools: [{ name: 'slow', provider: 'mock', method: 'GET', path: '/slow', input: { type: 'object', properties: { ms: { type: 'integer' } } } }] }]
  })).status, 200)
  const { key } = await (await admin('POST', '/api-keys', { endUser: 'alice' })).json() as { key: string }
  const client = new Client({ name: 'drain-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp/demo`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
  t.teardown(() => client.close().catch(() => {}))

  const inFlight = client.callTool({ name: 'slow', arguments: { ms: 1500 } })
  const deadline = Date.now() + 10_000
  while (!upstream.requests.some(r => r.url.startsWith('/slow')) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.ok(upstream.requests.some(r => r.url.startsWith('/slow')), 'the call reached the upstream')
  main.child.kill('SIGTERM')
  const result = await inFlight.catch((err: Error) => ({ isError: true, content: [{ type: 'text', text: err.message }] }))
  t.notOk(result.isError, `the call in flight completes: ${JSON.stringify(result.content)}`)

  // The client keeps its keep-alive connection open, as real MCP clients do. A bound, not a timing
  // expectation: the process must exit by itself, not after Fastify's 72 s keep-alive timeout
  // (the connection was busy when close() started, so only `Connection: close` ends it).
  const exited = await exitWithin(main.exited, 10_000)
  t.ok(exited, 'the process exits by itself once the call is done')
  if (!exited) return // the teardown kills it and its cluster
  t.equal(exited.code, 0, 'it exits cleanly')
  t.notOk(existsSync(join(dataDir, 'postgres', 'postmaster.pid')), 'the embedded Postgres is stopped')
})
