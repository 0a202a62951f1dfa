// The REST resources under /api/v1: providers, variables, servers, a server's tools and API keys.
// Each edit goes through the same validation as a whole document; bodies are schema-checked.
import t, { type Test } from 'tap'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'

useTestCluster(t)

interface Problem { path: string, message: string }
interface ErrorReply { error: { code: string, message: string, details?: Problem[] } }

async function expectError (t: Test, response: Response, status: number, code: string, problems?: Problem[]): Promise<ErrorReply> {
  t.equal(response.status, status, `status ${status}`)
  const body = await response.json() as ErrorReply
  t.equal(body.error.code, code, `code ${code}`)
  if (problems) t.same(body.error.details, problems, 'the problems name their paths')
  return body
}

const userInput = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }

async function configVersion (gw: TestGateway): Promise<string | null> {
  return (await gw.admin('GET', '/config')).headers.get('toolgate-config-version')
}

t.test('providers, variables, servers and tools: list, get, create, replace, delete', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { TOOLGATE_RATE_LIMIT_API: '100000/minute' })

  // Providers
  t.same(await (await gw.admin('GET', '/providers')).json(), [], 'no providers yet')
  const created = await gw.admin('POST', '/providers', { name: 'mock', baseUrl: upstream.url })
  t.equal(created.status, 201)
  t.equal(created.headers.get('location'), '/api/v1/providers/mock')
  t.same(await created.json(), { configVersion: 1, provider: { name: 'mock', baseUrl: upstream.url } })
  await expectError(t, await gw.admin('POST', '/providers', { name: 'mock', baseUrl: upstream.url }), 409, 'TG_ERR_CONFLICT')
  await expectError(t, await gw.admin('POST', '/providers', { name: 'Bad Name', baseUrl: 5, extra: 1 }), 400, 'TG_ERR_VALIDATION', [
    { path: 'body.extra', message: 'is not a known property' },
    { path: 'body.name', message: 'must match pattern "^[a-z0-9][a-z0-9_-]{0,62}$"' },
    { path: 'body.baseUrl', message: 'must be string' }
  ])
  await expectError(t, await gw.admin('POST', '/providers', { name: 'other' }), 400, 'TG_ERR_VALIDATION', [{ path: 'body.baseUrl', message: 'is required' }])
  await expectError(t, await gw.admin('POST', '/providers', { name: 'ftp', baseUrl: 'ftp://127.0.0.1/' }), 400, 'TG_ERR_CONFIG_INVALID', [
    { path: 'providers[1].baseUrl', message: 'must be an http or https URL' }
  ])
  t.same(await (await gw.admin('GET', '/providers/mock')).json(), { name: 'mock', baseUrl: upstream.url })
  await expectError(t, await gw.admin('GET', '/providers/nope'), 404, 'TG_ERR_NOT_FOUND')
  await expectError(t, await gw.admin('PUT', '/providers/nope', { name: 'nope', baseUrl: upstream.url }), 404, 'TG_ERR_NOT_FOUND')
  await expectError(t, await gw.admin('DELETE', '/providers/nope'), 404, 'TG_ERR_NOT_FOUND')
  t.equal(await configVersion(gw), '1', 'refused edits changed nothing')

  // Variables
  const env = await gw.admin('POST', '/variables', { name: 'PREFIX', kind: 'ENV', value: 'users' })
  t.equal(env.status, 201)
  const secret = await gw.admin('POST', '/variables', { name: 'TOKEN', kind: 'SECRET', value: 'rest-secret-value' })
  t.equal(secret.status, 201)
  const secretText = await secret.text()
  t.notOk(secretText.includes('rest-secret-value'), 'the create response does not echo the secret')
  t.same(JSON.parse(secretText), { configVersion: 3, variable: { name: 'TOKEN', kind: 'SECRET' } })
  await expectError(t, await gw.admin('POST', '/variables', { name: 'NEW', kind: 'SECRET' }), 400, 'TG_ERR_CONFIG_INVALID', [
    { path: 'variables[2].value', message: 'is required for a new SECRET variable (stored secrets are never exported, so re-applying an export keeps them)' }
  ])
  await expectError(t, await gw.admin('POST', '/variables', { name: '1BAD', kind: 'PLAIN' }), 400, 'TG_ERR_VALIDATION', [
    { path: 'body.name', message: 'must match pattern "^[A-Za-z_][A-Za-z0-9_]{0,127}$"' },
    { path: 'body.kind', message: 'must be one of "ENV", "SECRET"' }
  ])
  const variables = await (await gw.admin('GET', '/variables')).text()
  t.notOk(variables.includes('rest-secret-value'), 'the list does not show the secret')
  t.same(JSON.parse(variables), [{ name: 'PREFIX', kind: 'ENV', value: 'users' }, { name: 'TOKEN', kind: 'SECRET' }])
  const updatedSecret = await gw.admin('PUT', '/variables/TOKEN', { name: 'TOKEN', kind: 'SECRET', description: 'now described' })
  t.equal(updatedSecret.status, 200, 'a SECRET replaced without value keeps its value')
  t.same(await (await gw.admin('GET', '/variables/TOKEN')).json(), { name: 'TOKEN', kind: 'SECRET', description: 'now described' })

  // Servers and their tools
  const server = await gw.admin('POST', '/servers', { name: 'demo', title: 'Demo' })
  t.equal(server.status, 201)
  t.equal(server.headers.get('location'), '/api/v1/servers/demo')
  await expectError(t, await gw.admin('POST', '/servers', { name: 'demo' }), 409, 'TG_ERR_CONFLICT')
  await expectError(t, await gw.admin('POST', '/servers', { name: 'x', kind: 'websocket' }), 400, 'TG_ERR_VALIDATION', [{ path: 'body.kind', message: 'must be one of "api", "remote-mcp", "stdio"' }])
  await expectError(t, await gw.admin('POST', '/servers', { name: 'x', kind: 'stdio' }), 400, 'TG_ERR_CONFIG_INVALID', [{ path: 'servers[1].command', message: 'is required for a stdio server' }])
  t.same(await (await gw.admin('GET', '/servers/demo')).json(), { name: 'demo', title: 'Demo', tools: [], lastConnectedAt: null })

  const tool = { name: 'get_user', provider: 'mock', method: 'GET', path: '/${PREFIX}/{id}', headers: { Authorization: 'Bearer ${TOKEN}' }, input: userInput }
  const toolCreated = await gw.admin('POST', '/servers/demo/tools', tool)
  t.equal(toolCreated.status, 201)
  t.equal(toolCreated.headers.get('location'), '/api/v1/servers/demo/tools/get_user')
  t.same(await toolCreated.json(), { configVersion: 6, tool })
  await expectError(t, await gw.admin('POST', '/servers/demo/tools', tool), 409, 'TG_ERR_CONFLICT')
  await expectError(t, await gw.admin('POST', '/servers/nope/tools', tool), 404, 'TG_ERR_NOT_FOUND')
  await expectError(t, await gw.admin('GET', '/servers/nope/tools'), 404, 'TG_ERR_NOT_FOUND')
  await expectError(t, await gw.admin('GET', '/servers/demo/tools/nope'), 404, 'TG_ERR_NOT_FOUND')
  await expectError(t, await gw.admin('POST', '/servers/demo/tools', { ...tool, name: 'bad', method: 'FETCH', path: 'relative' }), 400, 'TG_ERR_VALIDATION', [
    { path: 'body.method', message: 'must be one of "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"' },
    { path: 'body.path', message: 'must match pattern "^/"' }
  ])
  await expectError(t, await gw.admin('POST', '/servers/demo/tools', { ...tool, name: 'other', provider: 'ghost' }), 400, 'TG_ERR_CONFIG_INVALID', [
    { path: 'servers[0].tools[1].provider', message: 'unknown provider "ghost"' }
  ])
  await expectError(t, await gw.admin('POST', '/servers/demo/tools', { ...tool, name: 'other', path: '/${NOPE}/{id}' }), 400, 'TG_ERR_CONFIG_INVALID', [
    { path: 'servers[0].tools[1].path', message: 'unknown variable ${NOPE}' }
  ])
  t.same(await (await gw.admin('GET', '/servers/demo/tools')).json(), [tool])
  t.same(await (await gw.admin('GET', '/servers/demo/tools/get_user')).json(), tool)

  // The edits are live for MCP clients.
  const client = await gw.connect('demo', await gw.createKey())
  const call = await client.callTool({ name: 'get_user', arguments: { id: 'ada' } })
  t.notOk(call.isError)
  t.equal(upstream.requests.at(-1)!.url, '/users/ada')
  t.equal(upstream.requests.at(-1)!.headers.authorization, 'Bearer rest-secret-value', 'the secret kept through a REST replace')

  const replaced = await gw.admin('PUT', '/servers/demo/tools/get_user', { ...tool, description: 'Looks a user up' })
  t.equal(replaced.status, 200)
  t.same((await client.listTools()).tools.map(tl => tl.description), ['Looks a user up'], 'a replaced tool is live at once')
  const renamed = await gw.admin('PUT', '/servers/demo/tools/get_user', { ...tool, name: 'find_user' })
  t.equal(renamed.status, 200, 'PUT may rename')
  t.same((await client.listTools()).tools.map(tl => tl.name), ['find_user'])
  await gw.admin('POST', '/servers/demo/tools', { ...tool, name: 'second' })
  await expectError(t, await gw.admin('PUT', '/servers/demo/tools/second', { ...tool, name: 'find_user' }), 409, 'TG_ERR_CONFLICT')

  // Deleting what is still used is refused with the path of the use.
  const versionBefore = await configVersion(gw)
  await expectError(t, await gw.admin('DELETE', '/providers/mock'), 400, 'TG_ERR_CONFIG_INVALID', [
    { path: 'servers[0].tools[0].provider', message: 'unknown provider "mock"' },
    { path: 'servers[0].tools[1].provider', message: 'unknown provider "mock"' }
  ])
  await expectError(t, await gw.admin('DELETE', '/variables/PREFIX'), 400, 'TG_ERR_CONFIG_INVALID', [
    { path: 'servers[0].tools[0].path', message: 'unknown variable ${PREFIX}' },
    { path: 'servers[0].tools[1].path', message: 'unknown variable ${PREFIX}' }
  ])
  await expectError(t, await gw.admin('PUT', '/providers/mock', { name: 'renamed', baseUrl: upstream.url }), 400, 'TG_ERR_CONFIG_INVALID')
  t.equal(await configVersion(gw), versionBefore, 'refused deletes changed nothing')
  t.same((await client.listTools()).tools.map(tl => tl.name), ['find_user', 'second'])

  const providerReplaced = await gw.admin('PUT', '/providers/mock', { name: 'mock', baseUrl: `${upstream.url}/echo` })
  t.equal(providerReplaced.status, 200)
  await client.callTool({ name: 'find_user', arguments: { id: 'bob' } })
  t.equal(upstream.requests.at(-1)!.url, '/echo/users/bob', 'a replaced provider is live at once')

  // Deletes, innermost first.
  t.equal((await gw.admin('DELETE', '/servers/demo/tools/second')).status, 204)
  t.equal((await gw.admin('DELETE', '/servers/demo/tools/find_user')).status, 204)
  t.same((await client.listTools()).tools, [], 'deleted tools are gone from tools/list')
  await expectError(t, await gw.admin('DELETE', '/servers/demo/tools/find_user'), 404, 'TG_ERR_NOT_FOUND')
  t.equal((await gw.admin('DELETE', '/providers/mock')).status, 204, 'an unused provider deletes')
  t.equal((await gw.admin('DELETE', '/variables/PREFIX')).status, 204)
  t.equal((await gw.admin('DELETE', '/variables/TOKEN')).status, 204)
  t.equal((await gw.admin('DELETE', '/servers/demo')).status, 204)
  await expectError(t, await gw.admin('GET', '/servers/demo'), 404, 'TG_ERR_NOT_FOUND')
  t.same(await (await gw.admin('GET', '/config')).json(), { variables: [], providers: [], servers: [] }, 'everything deleted')
})

t.test('concurrent REST edits all land (each retries on a fresh document)', async t => {
  const gw = await startTestGateway(t)
  const names = ['p1', 'p2', 'p3', 'p4', 'p5']
  const replies = await Promise.all(names.map(name => gw.admin('POST', '/providers', { name, baseUrl: 'http://127.0.0.1:9/' })))
  t.same(replies.map(r => r.status), names.map(() => 201))
  const listed = await (await gw.admin('GET', '/providers')).json() as Array<{ name: string }>
  t.same(listed.map(p => p.name).sort(), names, 'no edit was lost')
  t.equal(await configVersion(gw), '5')
})

t.test('API keys: create shows the key once; list/get never; PATCH; DELETE revokes', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: ['demo', 'other'].map(name => ({ name, tools: [{ name: 'get_user', provider: 'mock', method: 'GET', path: '/users/{id}', input: userInput }] }))
  })
  t.equal(applied.status, 200)

  const created = await gw.admin('POST', '/api-keys', { endUser: 'alice', name: 'laptop', servers: ['demo'] })
  t.equal(created.status, 201)
  const body = await created.json() as Record<string, unknown> & { id: string, key: string, prefix: string }
  t.match(body, { name: 'laptop', endUser: 'alice', servers: ['demo'], expiresAt: null, revokedAt: null })
  t.match(body.key, /^tg_[A-Za-z0-9_-]{43}$/, 'the key is shown at creation')
  t.ok(body.key.startsWith(body.prefix), 'the prefix is the start of the key')
  t.ok(body.prefix.length < body.key.length / 2, 'the prefix is not most of the key')

  const list = await gw.admin('GET', '/api-keys')
  const listText = await list.text()
  t.notOk(listText.includes(body.key), 'the list never shows the key')
  const listed = JSON.parse(listText) as Array<Record<string, unknown>>
  t.equal(listed.length, 1)
  t.notOk('key' in listed[0]! || 'keyHash' in listed[0]! || 'key_hash' in listed[0]!, 'no key or hash field in the list')
  const { key: _key, ...withoutKey } = body
  t.same(listed[0], withoutKey, 'the list shows the same key record without the key')
  const oneText = await (await gw.admin('GET', `/api-keys/${body.id}`)).text()
  t.notOk(oneText.includes(body.key), 'get never shows the key')
  t.same(JSON.parse(oneText), withoutKey)
  await expectError(t, await gw.admin('GET', '/api-keys/00000000-0000-0000-0000-000000000000'), 404, 'TG_ERR_NOT_FOUND')
  await expectError(t, await gw.admin('GET', '/api-keys/not-a-uuid'), 404, 'TG_ERR_NOT_FOUND')
  await expectError(t, await gw.admin('POST', '/api-keys', { name: 'x' }), 400, 'TG_ERR_VALIDATION', [{ path: 'body.endUser', message: 'is required' }])
  await expectError(t, await gw.admin('POST', '/api-keys', { endUser: 'a', expiresAt: 'tomorrow', extra: true }), 400, 'TG_ERR_VALIDATION')

  // The key works on its server only.
  const client = await gw.connect('demo', body.key)
  t.notOk((await client.callTool({ name: 'get_user', arguments: { id: 'a' } })).isError)
  const mcp = (server: string, key: string) => fetch(`${gw.url}/mcp/${server}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } })
  })
  t.equal((await mcp('other', body.key)).status, 403, 'limited to demo: other is forbidden')

  // PATCH
  const patched = await gw.admin('PATCH', `/api-keys/${body.id}`, { name: 'desktop', servers: ['demo', 'other'], expiresAt: '2999-01-01T00:00:00.000Z' })
  t.equal(patched.status, 200)
  t.match(await patched.json(), { id: body.id, name: 'desktop', servers: ['demo', 'other'], expiresAt: '2999-01-01T00:00:00.000Z', revokedAt: null })
  t.equal((await mcp('other', body.key)).status, 200, 'the widened key now opens other')
  await expectError(t, await gw.admin('PATCH', `/api-keys/${body.id}`, { endUser: 'mallory' }), 400, 'TG_ERR_VALIDATION', [
    { path: 'body.endUser', message: 'is not a known property' }
  ])
  await expectError(t, await gw.admin('PATCH', '/api-keys/00000000-0000-0000-0000-000000000000', { name: 'x' }), 404, 'TG_ERR_NOT_FOUND')
  const expired = await gw.admin('PATCH', `/api-keys/${body.id}`, { expiresAt: '2000-01-01T00:00:00.000Z' })
  t.equal(expired.status, 200)
  t.equal((await mcp('demo', body.key)).status, 401, 'an expired key is refused')
  t.equal((await gw.admin('PATCH', `/api-keys/${body.id}`, { expiresAt: null })).status, 200)
  t.equal((await mcp('demo', body.key)).status, 200, 'clearing the expiry restores it')

  // DELETE revokes (the record stays, marked).
  const revoked = await gw.admin('DELETE', `/api-keys/${body.id}`)
  t.equal(revoked.status, 200)
  const revokedBody = await revoked.json() as { revokedAt: string | null }
  t.ok(revokedBody.revokedAt && !Number.isNaN(Date.parse(revokedBody.revokedAt)), 'revokedAt is set')
  const denied = await mcp('demo', body.key)
  t.equal(denied.status, 401, 'a revoked key is refused at once')
  t.ok(denied.headers.get('www-authenticate'), 'with WWW-Authenticate')
  t.match(await (await gw.admin('GET', `/api-keys/${body.id}`)).json(), { revokedAt: revokedBody.revokedAt }, 'get shows the revocation')
  await expectError(t, await gw.admin('DELETE', '/api-keys/00000000-0000-0000-0000-000000000000'), 404, 'TG_ERR_NOT_FOUND')
})
