// Issue 6's privacy test: a real Toolgate process (src/main.ts, its own embedded Postgres in a data
// dir) runs a full workload — api and remote-mcp tools with interceptors, an end user's OAuth
// consent and refresh, errors of every kind, rate-limit rejections, a debug subscriber — with unique canaries in tool
// arguments, upstream bodies, upstream response headers, a secret variable, an OAuth client secret,
// the OAuth tokens and the client's API key. Afterwards, for every canary and its base64, base64url
// and hex forms: no table row, no file under the data dir (Postgres heap and WAL included) and
// nothing the process wrote to stdout or stderr contains it (only the volatile debug stream may,
// and it still hides secrets, keys and tokens); no table holds the client's address.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { connectToRunningEmbedded } from '../../src/db/embedded.ts'
import { connectDb } from '../../src/db/index.ts'
import { startFixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { startMockGoogle } from '../fixtures/oauth/index.ts'
import { freePort, killMain, startMain } from '../helpers/cli.ts'
import { dumpDatabase, encodings } from '../helpers/dump.ts'
import { openDebug } from '../helpers/debug.ts'
import { completeConsent, linkIn } from '../helpers/oauth.ts'

t.setTimeout(240_000)

const CANARIES = {
  argument: 'canary-argument-a83f1d20',
  upstreamBody: 'canary-body-5c7e9b14',
  upstreamHeader: 'canary-header-e41d0a77',
  secretVariable: 'canary-secret-variable-9b2c6f31',
  oauthClientSecret: 'canary-client-secret-0d6a2e58',
  adminToken: 'tga_canary-admin-token-71f3c9e2d4b8a6'
}

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await filesUnder(path))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

t.test('nothing of a full workload is written down', async t => {
  const google = await startMockGoogle({ clientSecret: CANARIES.oauthClientSecret })
  const upstream = await startMockUpstream({ canary: CANARIES.upstreamBody, headerCanary: CANARIES.upstreamHeader })
  const fixture = await startFixtureServer()
  t.teardown(async () => { await google.close(); await upstream.close(); await fixture.close() })

  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-privacy-'))
  // The client comes from ::1 while every upstream is on 127.0.0.1, so the address check below
  // cannot be fooled by upstream URLs in the config.
  const base = `http://[::1]:${port}`
  const running = await startMain({
    TOOLGATE_DATA_DIR: dataDir, HOST: '::', PORT: String(port), TOOLGATE_PUBLIC_URL: base,
    TOOLGATE_ADMIN_TOKEN: CANARIES.adminToken, LOG_LEVEL: 'trace', TOOLGATE_RATE_LIMIT_OAUTH: '8/minute'
  })
  t.teardown(async () => { await killMain(running, dataDir); await rm(dataDir, { recursive: true, force: true }) })
  google.redirectUris = [`${base}/oauth/callback`]
  const admin = (method: string, path: string, body?: unknown) => fetch(`${base}/api/v1${path}`, {
    method, headers: { authorization: `Bearer ${CANARIES.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined
  })

  const object = { type: 'object', properties: { q: { type: 'string' }, n: { type: 'integer' } } }
  const applied = await admin('PUT', '/config', {
    variables: [{ name: 'UPSTREAM_TOKEN', kind: 'SECRET', value: CANARIES.secretVariable }],
    providers: [
      { name: 'mock', baseUrl: upstream.url, headers: { Authorization: 'Bearer ${UPSTREAM_TOKEN}' } },
      { name: 'google', baseUrl: google.apiBase, oauth: { issuer: google.issuer, clientId: google.clientId, clientSecret: CANARIES.oauthClientSecret, scopes: ['openid', 'email'], authorizationParams: { access_type: 'offline' } } }
    ],
    servers: [
      {
        name: 'demo',
        tools: [
          { name: 'echo', provider: 'mock', method: 'POST', path: '/echo', input: object, response: [{ js: '(input) => ({ echoed: input.body })' }] },
          { name: 'canary', provider: 'mock', method: 'GET', path: '/canary', input: object, response: [{ jmespath: '{secret: secret}' }] },
          { name: 'headers', provider: 'mock', method: 'GET', path: '/canary', input: object, response: [{ js: '(input, ctx) => ({ header: ctx.headers["x-canary"] })' }] },
          { name: 'fail', provider: 'mock', method: 'GET', path: '/status/500', input: object },
          { name: 'leaky', provider: 'mock', method: 'GET', path: '/canary', input: object, response: [{ js: '(input, ctx) => { throw new Error(JSON.stringify([input, ctx.arguments])) }' }] },
          { name: 'whoami', provider: 'google', method: 'GET', path: '/whoami', input: object }
        ]
      },
      { name: 'remote', kind: 'remote-mcp', url: fixture.url, transport: 'streamable-http', include: ['echo'], response: [{ jmespath: '@' }] }
    ]
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const created = await admin('POST', '/api-keys', { endUser: 'alice' })
  const apiKey = (await created.json() as { key: string }).key

  const connect = async (server: string) => {
    const client = new Client({ name: 'privacy', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp/${server}`), { requestInit: { headers: { authorization: `Bearer ${apiKey}` } } }))
    t.teardown(() => client.close())
    return client
  }
  // The live debug console watches the api server's calls: the one place payloads may appear.
  const debug = await openDebug(base, 'demo', { token: CANARIES.adminToken })
  t.teardown(() => debug.close())
  const demo = await connect('demo')
  const text = (result: Awaited<ReturnType<Client['callTool']>>) => JSON.stringify(result)

  t.match(text(await demo.callTool({ name: 'echo', arguments: { q: CANARIES.argument } })), CANARIES.argument, 'the argument went upstream and back')
  t.match(text(await demo.callTool({ name: 'canary', arguments: {} })), CANARIES.upstreamBody, 'the upstream body reached the client')
  t.match(text(await demo.callTool({ name: 'headers', arguments: {} })), CANARIES.upstreamHeader, 'the upstream header reached the interceptor and the client')
  await demo.callTool({ name: 'fail', arguments: { q: CANARIES.argument } })
  t.match(text(await demo.callTool({ name: 'leaky', arguments: { q: CANARIES.argument } })), CANARIES.upstreamBody, 'a failing interceptor quotes the payload (to the client only)')
  t.equal((await demo.callTool({ name: 'echo', arguments: { n: CANARIES.argument } })).isError, true, 'invalid arguments')
  await demo.callTool({ name: 'no_such_tool', arguments: { q: CANARIES.argument } }).catch(() => {})
  await fetch(`${base}/mcp/demo`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: `{"broken": "${CANARIES.argument}"` })
  await fetch(`${base}/mcp/demo`, { method: 'POST', headers: { authorization: `Bearer ${CANARIES.argument}`, 'content-type': 'application/json' }, body: '{}' })

  const remote = await connect('remote')
  t.match(text(await remote.callTool({ name: 'echo', arguments: { text: CANARIES.argument } })), CANARIES.argument, 'remote-mcp round trip')

  // OAuth: consent, a call with alice's token, a refresh.
  const consent = await completeConsent(linkIn((await demo.callTool({ name: 'whoami', arguments: {} }) as { content: Array<{ text: string }> }).content[0]!.text), 'alice')
  t.equal(consent.status, 200, consent.page)
  t.notOk((await demo.callTool({ name: 'whoami', arguments: { q: CANARIES.argument } })).isError)
  const connection = await connectToRunningEmbedded(dataDir)
  const { db } = connectDb(connection!, 2)
  t.teardown(() => db.destroy())
  await db.updateTable('oauth_tokens').set({ expires_at: new Date(Date.now() - 1000) }).execute()
  t.notOk((await demo.callTool({ name: 'whoami', arguments: {} })).isError, 'after a refresh')
  t.equal(google.refreshCount(), 1)

  // Rate-limit rejections on the consent routes (the flow above used three of the eight).
  const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(`${base}/oauth/consent?request=${CANARIES.argument}`).then(r => r.status)))
  t.ok(statuses.includes(429), `some requests were rate limited (${statuses.join(',')})`)

  const tokens = [
    ...google.accessTokensOf('alice'),
    ...google.tokenRequests.flatMap(r => [r.params.refresh_token, r.params.code, r.params.code_verifier]).filter((v): v is string => typeof v === 'string')
  ]
  t.ok(tokens.length >= 4, `${tokens.length} OAuth tokens, codes and verifiers to look for`)
  const needles = new Map<string, string[]>([
    ...Object.entries(CANARIES).map(([name, value]) => [name, encodings(value)] as [string, string[]]),
    ['apiKey', encodings(apiKey)],
    ...tokens.map((token, i) => [`oauth value ${i}`, encodings(token)] as [string, string[]])
  ])

  const stream = (await debug.drain(500), debug.raw())
  t.match(stream, CANARIES.argument, 'the debug stream carries payloads (volatile by design)')
  t.match(stream, CANARIES.upstreamBody)
  for (const name of ['secretVariable', 'adminToken'] as const) t.notOk(encodings(CANARIES[name]).some(form => stream.includes(form)), `the debug stream redacts the ${name}`)
  t.notOk(encodings(apiKey).some(form => stream.includes(form)), 'the debug stream never shows the client\'s API key')
  for (const token of google.accessTokensOf('alice')) t.notOk(stream.includes(token), 'the debug stream never shows the end user\'s OAuth token')
  t.match(stream, '"tool":"whoami"', 'the OAuth calls were traced')
  await debug.close()

  const tables = await dumpDatabase(db)
  t.ok(tables.size >= 15, `${tables.size} tables dumped`)
  for (const [table, rows] of tables) {
    for (const [name, forms] of needles) t.notOk(forms.some(form => rows.includes(form)), `table ${table}: no ${name}`)
    t.notOk(rows.includes('::1'), `table ${table}: no client address`)
  }
  await db.destroy()

  // A graceful stop, so Postgres checkpoints and everything it will ever write is on disk.
  running.child.kill('SIGTERM')
  t.equal((await running.exited).code, 0, 'stopped cleanly')
  const files = await filesUnder(dataDir)
  t.ok(files.length > 100, `${files.length} files under the data dir (the Postgres cluster included)`)
  for (const file of files) {
    const bytes = await readFile(file)
    for (const [name, forms] of needles) {
      if (forms.some(form => bytes.includes(Buffer.from(form)))) t.fail(`${file} contains the ${name}`)
    }
  }
  t.pass('no canary in any file under the data dir')
  const output = running.stdout + running.stderr
  t.ok(output.length > 1000, `the process wrote ${output.length} bytes of output (trace level)`)
  t.match(output, '"tool":"echo"', 'the log names tools')
  for (const [name, forms] of needles) t.notOk(forms.some(form => output.includes(form)), `stdout/stderr: no ${name}`)
})
