// A bad config document is refused with the exact path of every problem, and the config applied
// before it stays as it was: the stored document, its version and what MCP clients see.
import t from 'tap'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

interface Problem { path: string, message: string }
interface ErrorReply { error: { code: string, message: string, details: Problem[] } }

const object = (properties: Record<string, unknown> = {}, required: string[] = []) => ({ type: 'object', properties, required })

t.test('bad documents are refused with their paths; the applied config is untouched', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)

  const provider = { name: 'mock', baseUrl: upstream.url }
  const tool = (extra: Record<string, unknown> = {}) => ({ name: 'get_user', provider: 'mock', method: 'GET', path: '/users/{id}', input: object({ id: { type: 'string' } }, ['id']), ...extra })
  const good = {
    variables: [{ name: 'REGION', kind: 'ENV', value: 'eu' }, { name: 'TOKEN', kind: 'SECRET', value: 'secret-value-1' }],
    providers: [provider],
    servers: [{ name: 'demo', tools: [tool(), tool({ name: 'echo', method: 'POST', path: '/echo/${REGION}', input: object({ q: { type: 'string' } }) })] }]
  }
  const applied = await gw.applyConfig(good)
  t.equal(applied.status, 200, 'the good document applies')
  const key = await gw.createKey()
  const client = await gw.connect('demo', key)

  const snapshot = async () => {
    const response = await gw.admin('GET', '/config')
    return {
      version: response.headers.get('toolgate-config-version'),
      document: await response.json(),
      tools: (await client.listTools()).tools.map(tool => tool.name)
    }
  }
  const before = await snapshot()
  t.equal(before.version, '1')
  t.same(before.tools, ['get_user', 'echo'])

  // Each case: a document and the exact problems it must be refused with.
  const cases: Array<{ name: string, document: unknown, problems: Problem[] }> = [
    {
      name: 'unknown variable in a tool path',
      document: { ...good, servers: [{ name: 'demo', tools: [tool(), tool({ name: 'b' }), tool({ name: 'c', path: '/users/${FOO}' })] }] },
      problems: [{ path: 'servers[0].tools[2].path', message: 'unknown variable ${FOO}' }]
    },
    {
      name: 'unknown variables in provider base URL and headers, tool headers',
      document: {
        providers: [{ name: 'mock', baseUrl: 'http://127.0.0.1:1/${BASE}', headers: { Authorization: 'Bearer ${NOPE}' } }],
        servers: [{ name: 'demo', tools: [tool({ headers: { 'X-Key': '${KEY}' } })] }]
      },
      problems: [
        { path: 'providers[0].baseUrl', message: 'unknown variable ${BASE}' },
        { path: 'providers[0].headers.Authorization', message: 'unknown variable ${NOPE}' },
        { path: 'servers[0].tools[0].headers.X-Key', message: 'unknown variable ${KEY}' }
      ]
    },
    {
      name: 'unknown provider',
      document: { ...good, servers: [{ name: 'demo', tools: [tool({ provider: 'nope' })] }] },
      problems: [{ path: 'servers[0].tools[0].provider', message: 'unknown provider "nope"' }]
    },
    {
      name: 'duplicate names at every level',
      document: {
        variables: [{ name: 'A', kind: 'ENV', value: '1' }, { name: 'A', kind: 'ENV', value: '2' }],
        providers: [provider, provider],
        servers: [{ name: 'demo', tools: [tool(), tool()] }, { name: 'demo' }]
      },
      problems: [
        { path: 'variables[1].name', message: 'duplicate variable "A" (first at index 0)' },
        { path: 'providers[1].name', message: 'duplicate provider "mock" (first at index 0)' },
        { path: 'servers[1].name', message: 'duplicate server "demo" (first at index 0)' },
        { path: 'servers[0].tools[1].name', message: 'duplicate tool "get_user" (first at index 0)' }
      ]
    },
    {
      name: 'path placeholder that is not an input property',
      document: { ...good, servers: [{ name: 'demo', tools: [tool({ input: object({ name: { type: 'string' } }) })] }] },
      problems: [{ path: 'servers[0].tools[0].path', message: 'path parameter "{id}" is not a property of input' }]
    },
    {
      name: 'path placeholder that is not required',
      document: { ...good, servers: [{ name: 'demo', tools: [tool({ input: object({ id: { type: 'string' } }) })] }] },
      problems: [{ path: 'servers[0].tools[0].input.required', message: 'path parameter "id" must be required' }]
    },
    {
      name: 'input that is not a JSON Schema',
      document: { ...good, servers: [{ name: 'demo', tools: [tool(), tool({ name: 'bad', path: '/echo', input: object({ a: { type: 'nonsense' } }) })] }] },
      problems: [{ path: 'servers[0].tools[1].input', message: 'not a valid JSON Schema: schema is invalid: data/properties/a/type must be equal to one of the allowed values, data/properties/a/type must be array, data/properties/a/type must match a schema in anyOf' }]
    },
    {
      name: 'input that is not an object schema',
      document: { ...good, servers: [{ name: 'demo', tools: [tool({ path: '/echo', input: { type: 'string' } })] }] },
      problems: [{ path: 'servers[0].tools[0].input.type', message: 'a tool input schema must have type "object"' }]
    },
    {
      name: 'unknown properties',
      document: { ...good, extra: true, servers: [{ name: 'demo', tools: [tool({ bogus: 1 })] }] },
      problems: [
        { path: 'extra', message: 'is not a known property' },
        { path: 'servers[0].tools[0].bogus', message: 'is not a known property' }
      ]
    },
    {
      name: 'bad method',
      document: { ...good, servers: [{ name: 'demo', tools: [tool({ method: 'get' })] }] },
      problems: [{ path: 'servers[0].tools[0].method', message: 'must be one of "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"' }]
    },
    {
      name: 'missing required field',
      document: { ...good, servers: [{ name: 'demo', tools: [{ name: 'x', provider: 'mock', method: 'GET' }] }] },
      problems: [{ path: 'servers[0].tools[0].path', message: 'is required' }]
    },
    {
      name: 'base URL that is not absolute',
      document: { ...good, providers: [{ name: 'mock', baseUrl: 'not a url' }] },
      problems: [{ path: 'providers[0].baseUrl', message: '"not a url" is not an absolute URL' }]
    },
    {
      name: 'base URL that is not http(s)',
      document: { ...good, providers: [{ name: 'mock', baseUrl: 'ftp://127.0.0.1/' }] },
      problems: [{ path: 'providers[0].baseUrl', message: 'must be an http or https URL' }]
    },
    {
      name: 'base URL with credentials',
      document: { ...good, providers: [{ name: 'mock', baseUrl: 'http://user:pw@127.0.0.1/' }] },
      problems: [{ path: 'providers[0].baseUrl', message: 'must not carry credentials; use a header with a SECRET variable' }]
    },
    {
      name: 'base URL that only a variable makes unusable',
      document: { ...good, variables: [...good.variables, { name: 'BASE', kind: 'ENV', value: 'nowhere' }], providers: [{ name: 'mock', baseUrl: '${BASE}' }] },
      problems: [{ path: 'providers[0].baseUrl', message: 'resolves to an unusable URL: "nowhere" is not an absolute URL' }]
    },
    {
      name: 'unusable base URL of a provider no tool uses yet',
      document: { ...good, variables: [...good.variables, { name: 'BASE', kind: 'ENV', value: 'ftp://x' }], providers: [provider, { name: 'later', baseUrl: '${BASE}' }] },
      problems: [{ path: 'providers[1].baseUrl', message: 'resolves to an unusable URL: must be an http or https URL' }]
    },
    {
      name: 'base URL from a new SECRET that has no value',
      document: { ...good, variables: [...good.variables, { name: 'HOST', kind: 'SECRET' }], providers: [{ name: 'mock', baseUrl: 'http://${HOST}/' }] },
      problems: [{ path: 'variables[2].value', message: 'is required for a new SECRET variable (stored secrets are never exported, so re-applying an export keeps them)' }]
    },
    {
      name: 'header value with a line break',
      document: { ...good, providers: [{ ...provider, headers: { 'X-A': 'a\r\nInjected: yes' } }] },
      problems: [{ path: 'providers[0].headers.X-A', message: 'must match pattern "^[^\\r\\n\\u0000]*$"' }]
    },
    {
      name: 'a new SECRET without a value',
      document: { ...good, variables: [...good.variables, { name: 'NEW_SECRET', kind: 'SECRET' }] },
      problems: [{ path: 'variables[2].value', message: 'is required for a new SECRET variable (stored secrets are never exported, so re-applying an export keeps them)' }]
    },
    {
      name: 'not an object',
      document: [good],
      problems: [{ path: '', message: 'must be object' }]
    }
  ]

  for (const c of cases) {
    const response = await gw.applyConfig(c.document)
    t.equal(response.status, 400, `${c.name}: 400`)
    const body = await response.json() as ErrorReply
    t.equal(body.error.code, 'TG_ERR_CONFIG_INVALID', `${c.name}: coded error`)
    t.same(body.error.details, c.problems, `${c.name}: exact problems`)
    for (const problem of c.problems) {
      t.ok(body.error.message.includes(`${problem.path || '(document)'}: ${problem.message}`), `${c.name}: the message names ${problem.path || 'the document'}`)
    }
  }

  const yaml = await fetch(`${gw.url}/api/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${gw.settings.adminToken}`, 'content-type': 'application/yaml' },
    body: 'servers:\n  - name: demo\n    tools:\n      - name: x\n        provider: nope\n        method: GET\n        path: /x\n'
  })
  t.equal(yaml.status, 400, 'a YAML document is validated the same way')
  t.same(((await yaml.json()) as ErrorReply).error.details, [{ path: 'servers[0].tools[0].provider', message: 'unknown provider "nope"' }])

  const brokenYaml = await fetch(`${gw.url}/api/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${gw.settings.adminToken}`, 'content-type': 'application/yaml' },
    body: 'servers: [unclosed'
  })
  t.equal(brokenYaml.status, 400, 'unparseable YAML is a 400')

  const brokenJson = await fetch(`${gw.url}/api/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${gw.settings.adminToken}`, 'content-type': 'application/json' },
    body: '{"servers": ['
  })
  t.equal(brokenJson.status, 400, 'unparseable JSON is a 400')

  t.same(await snapshot(), before, 'stored document, config version and tools/list are unchanged')
  const call = await client.callTool({ name: 'get_user', arguments: { id: 'ada' } })
  t.notOk(call.isError, 'the previous config still serves calls')
  t.equal(upstream.requests.at(-1)?.url, '/users/ada')
})
