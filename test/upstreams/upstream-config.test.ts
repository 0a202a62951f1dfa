// remote-mcp and stdio servers in the config document: refused with exact paths when wrong,
// stored and read back as written (variables unresolved, secret values never returned), and
// edited through the REST /servers resource like any server.
import t from 'tap'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

interface Problem { path: string, message: string }
interface ErrorReply { error: { code: string, details: Problem[] } }

t.test('bad remote-mcp / stdio servers are refused with their paths', async t => {
  const gw = await startTestGateway(t)
  const variables = [{ name: 'TOKEN', kind: 'SECRET', value: 's3cret-value' }, { name: 'HOST', kind: 'ENV', value: 'not a host' }]
  const cases: Array<{ name: string, servers: unknown[], problems: Problem[], withVariables?: boolean }> = [
    {
      name: 'remote-mcp without url, with tools and stdio fields',
      servers: [{ name: 'a', kind: 'remote-mcp', tools: [], command: 'node' }],
      problems: [
        { path: 'servers[0].tools', message: 'only api servers declare tools; a remote-mcp server\'s tools come from its MCP server (filter them with include, exclude and rename)' },
        { path: 'servers[0].command', message: 'only for stdio servers (this server has kind "remote-mcp")' },
        { path: 'servers[0].url', message: 'is required for a remote-mcp server' }
      ]
    },
    {
      name: 'stdio without command, with remote fields',
      servers: [{ name: 'ok', kind: 'remote-mcp', url: 'http://127.0.0.1:1/mcp' }, { name: 'b', kind: 'stdio', url: 'http://x/', headers: { A: 'b' } }],
      problems: [
        { path: 'servers[1].url', message: 'only for remote-mcp servers (this server has kind "stdio")' },
        { path: 'servers[1].headers', message: 'only for remote-mcp servers (this server has kind "stdio")' },
        { path: 'servers[1].command', message: 'is required for a stdio server' }
      ]
    },
    {
      name: 'upstream fields on an api server',
      servers: [{ name: 'c', url: 'http://127.0.0.1/', include: ['x'] }],
      problems: [
        { path: 'servers[0].url', message: 'only for remote-mcp and stdio servers (this server has kind "api")' },
        { path: 'servers[0].include', message: 'only for remote-mcp and stdio servers (this server has kind "api")' }
      ]
    },
    {
      name: 'bad url, transport, unknown variables, transport headers',
      servers: [
        { name: 'd', kind: 'remote-mcp', url: 'ftp://127.0.0.1/mcp' },
        { name: 'e', kind: 'remote-mcp', url: 'http://127.0.0.1/mcp', transport: 'websocket', headers: { 'Mcp-Session-Id': 'x', 'X-Key': '${NOPE}' } },
        { name: 'f', kind: 'stdio', command: 'node', env: { API_KEY: '${MISSING}' } }
      ],
      problems: [
        { path: 'servers[1].transport', message: 'must be one of "streamable-http", "sse", "auto"' }
      ]
    },
    {
      name: 'semantic url/header/env problems',
      servers: [
        { name: 'd', kind: 'remote-mcp', url: 'ftp://127.0.0.1/mcp' },
        { name: 'e', kind: 'remote-mcp', url: 'http://u:p@127.0.0.1/mcp', headers: { 'Mcp-Session-Id': 'x', 'X-Key': '${NOPE}' } },
        { name: 'f', kind: 'stdio', command: 'node', env: { API_KEY: '${MISSING}' } }
      ],
      problems: [
        { path: 'servers[0].url', message: 'must be an http or https URL' },
        { path: 'servers[1].url', message: 'must not carry credentials; use a header with a SECRET variable' },
        { path: 'servers[1].headers.Mcp-Session-Id', message: 'is set by the MCP transport itself and cannot be configured' },
        { path: 'servers[1].headers.X-Key', message: 'unknown variable ${NOPE}' },
        { path: 'servers[2].env.API_KEY', message: 'unknown variable ${MISSING}' }
      ]
    },
    {
      name: 'a url that only its variable makes unusable',
      withVariables: true,
      servers: [{ name: 'g', kind: 'remote-mcp', url: 'http://${HOST}/mcp' }],
      problems: [{ path: 'servers[0].url', message: 'resolves to an unusable URL: "http://not a host/mcp" is not an absolute URL' }]
    },
    {
      name: 'renames that collide or are not tool names; bad include patterns',
      servers: [{ name: 'h', kind: 'remote-mcp', url: 'http://127.0.0.1/mcp', include: ['ok_*', 'bad name'], rename: { a: 'same', b: 'same', c: 'not valid!' } }],
      problems: [
        { path: 'servers[0].include[1]', message: 'must match pattern "^[A-Za-z0-9_.*/-]{1,128}$"' },
        { path: 'servers[0].rename.c', message: 'must match pattern "^[A-Za-z0-9_.-]{1,128}$"' }
      ]
    },
    {
      name: 'two renames onto one name',
      servers: [{ name: 'h', kind: 'remote-mcp', url: 'http://127.0.0.1/mcp', rename: { a: 'same', 'b.x': 'same' } }],
      problems: [{ path: 'servers[0].rename["b.x"]', message: '"same" is already the new name of "a"' }]
    },
    {
      name: 'unknown kind',
      servers: [{ name: 'i', kind: 'websocket' }],
      problems: [{ path: 'servers[0].kind', message: 'must be one of "api", "remote-mcp", "stdio"' }]
    }
  ]
  for (const { name, servers, problems, withVariables } of cases) {
    const response = await gw.applyConfig({ ...(withVariables ? { variables } : {}), servers })
    t.equal(response.status, 400, `${name}: refused`)
    const body = await response.json() as ErrorReply
    t.same(body.error.details, problems, `${name}: problems and paths`)
  }
  const config = await (await gw.admin('GET', '/config')).json()
  t.same(config, { variables: [], providers: [], servers: [] }, 'nothing was applied')
})

t.test('remote-mcp and stdio servers round-trip through export and REST, secrets never returned', async t => {
  const gw = await startTestGateway(t)
  const remote = {
    name: 'remote',
    kind: 'remote-mcp',
    title: 'Remote',
    url: 'http://127.0.0.1:1/mcp',
    transport: 'sse',
    headers: { Authorization: 'Bearer ${TOKEN}' },
    timeoutMs: 5000,
    maxResponseBytes: 100000,
    include: ['a*'],
    exclude: ['ab'],
    rename: { abc: 'xyz' }
  }
  const hosted = {
    name: 'hosted',
    kind: 'stdio',
    command: '/bin/false',
    args: ['--flag', '${NOT_RESOLVED_IN_ARGS}'],
    env: { API_KEY: '${TOKEN}', MODE: 'test' },
    cwd: '/tmp'
  }
  const document = {
    variables: [{ name: 'TOKEN', kind: 'SECRET', value: 'round-trip-secret-9' }],
    providers: [],
    servers: [remote, hosted]
  }
  const applied = await gw.applyConfig(document)
  t.equal(applied.status, 200, await applied.clone().text())

  const exported = await (await gw.admin('GET', '/config')).json() as Record<string, unknown>
  t.same(exported, { variables: [{ name: 'TOKEN', kind: 'SECRET' }], providers: [], servers: [remote, hosted] }, 'exported as written, no secret value')
  const yaml = await (await gw.admin('GET', '/config?format=yaml')).text()
  t.match(yaml, /kind: remote-mcp/)
  t.notOk(yaml.includes('round-trip-secret-9'))

  // Re-applying the export keeps everything (the secret stays stored).
  t.equal((await gw.applyConfig(exported)).status, 200, 'the export applies as is')
  t.same(await (await gw.admin('GET', '/config')).json(), exported, 'and reads back the same')

  // REST: get (with status), replace (a GET body can be PUT back), create, delete.
  const got = await (await gw.admin('GET', '/servers/remote')).json() as Record<string, unknown>
  t.match(got, { ...remote, status: String, lastConnectedAt: null })
  const put = await gw.admin('PUT', '/servers/remote', { ...got, url: 'http://127.0.0.1:2/mcp' })
  t.equal(put.status, 200, await put.clone().text())
  const after = await (await gw.admin('GET', '/servers/remote')).json() as Record<string, unknown>
  t.equal(after.url, 'http://127.0.0.1:2/mcp')
  t.notOk('status' in (await (await gw.admin('GET', '/config')).json() as { servers: Array<Record<string, unknown>> }).servers[0]!, 'status is not config')

  const created = await gw.admin('POST', '/servers', { name: 'third', kind: 'remote-mcp', url: 'http://127.0.0.1:3/mcp', tools: [] })
  t.equal(created.status, 400, 'REST edits are validated like documents')
  t.match(await created.json(), { error: { details: [{ path: 'servers[2].tools' }] } })
  t.equal((await gw.admin('DELETE', '/servers/hosted')).status, 204)
  const names = (await (await gw.admin('GET', '/servers')).json() as Array<{ name: string }>).map(server => server.name)
  t.same(names, ['remote'])
})
