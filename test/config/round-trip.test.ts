// PUT /api/v1/config then GET returns the same document (JSON and YAML), minus secret values,
// which no read path ever returns. Re-applying an export keeps the stored secrets.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { ADMIN_TOKEN, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const SECRET = 'round-trip-secret-9b7e1d'

function documentFor (upstreamUrl: string) {
  return {
    variables: [
      { name: 'REGION', kind: 'ENV', description: 'Where the API lives', value: 'eu-west' },
      { name: 'API_TOKEN', kind: 'SECRET', description: 'Upstream bearer', value: SECRET }
    ],
    providers: [{
      name: 'mock',
      description: 'The mock upstream',
      baseUrl: upstreamUrl,
      headers: { Accept: 'application/json', Authorization: 'Bearer ${API_TOKEN}' },
      timeoutMs: 5000,
      maxResponseBytes: 1_000_000
    }],
    servers: [{
      name: 'demo',
      title: 'Demo',
      description: 'A demo server',
      instructions: 'Use get_user for people.',
      tools: [
        {
          name: 'get_user',
          title: 'Get a user',
          description: 'Looks a user up',
          provider: 'mock',
          method: 'GET',
          path: '/users/{id}',
          // Deliberately not alphabetical: a model sees properties in this order.
          input: {
            type: 'object',
            properties: {
              zeta: { type: 'string' },
              id: { type: 'string', description: 'The user id' },
              alpha: { type: 'object', properties: { y: { type: 'integer' }, b: { type: 'boolean' } } }
            },
            required: ['id']
          },
          output: { type: 'object', properties: { name: { type: 'string' }, id: { type: 'string' } } },
          parameters: { zeta: { in: 'header', name: 'X-Zeta' } },
          headers: { 'X-Region': '${REGION}' },
          timeoutMs: 1000,
          maxResponseBytes: 4096,
          scopes: ['users:read'],
          annotations: { readOnlyHint: true, openWorldHint: false }
        },
        // No input: a tool without arguments, exported the same way.
        { name: 'ping', provider: 'mock', method: 'GET', path: '/echo/ping' },
        {
          name: 'echo',
          provider: 'mock',
          method: 'POST',
          path: '/echo/{region}',
          input: { type: 'object', properties: { region: { type: 'string' }, q: { type: 'string' } }, required: ['region'] }
        }
      ]
    }]
  }
}

/** The document as GET must return it: the same, without the SECRET value. */
function withoutSecretValues<T extends { variables: Array<{ kind: string, value?: string }> }> (doc: T): T {
  const copy = structuredClone(doc)
  for (const v of copy.variables) if (v.kind === 'SECRET') delete v.value
  return copy
}

t.test('apply then export returns the same document, never a secret value', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const document = documentFor(upstream.url)

  const applied = await gw.applyConfig(document)
  t.equal(applied.status, 200)
  t.same(await applied.json(), { configVersion: 1 })

  const json = await gw.admin('GET', '/config')
  t.equal(json.headers.get('toolgate-config-version'), '1')
  const jsonText = await json.text()
  t.same(JSON.parse(jsonText), withoutSecretValues(document), 'GET returns what PUT took, minus the secret value')
  t.notOk(jsonText.includes(SECRET), 'no secret in GET /config')

  const exported = JSON.parse(jsonText)
  const input = exported.servers[0].tools[0].input
  t.same(Object.keys(input.properties), ['zeta', 'id', 'alpha'], 'input property order is preserved')
  t.same(Object.keys(input.properties.alpha.properties), ['y', 'b'], 'nested property order is preserved')
  t.same(Object.keys(exported.servers[0].tools[0].output.properties), ['name', 'id'], 'output property order is preserved')

  const yamlResponse = await gw.admin('GET', '/config?format=yaml')
  t.match(yamlResponse.headers.get('content-type'), /^application\/yaml/)
  const yamlText = await yamlResponse.text()
  t.same(parseYaml(yamlText), withoutSecretValues(document), 'YAML export is the same document')
  t.notOk(yamlText.includes(SECRET), 'no secret in the YAML export')
  t.same(Object.keys(parseYaml(yamlText).servers[0].tools[0].input.properties), ['zeta', 'id', 'alpha'], 'YAML keeps property order')

  const byAccept = await fetch(`${gw.url}/api/v1/config`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'application/yaml' } })
  t.same(parseYaml(await byAccept.text()), withoutSecretValues(document), 'Accept: application/yaml gives YAML too')

  const variables = await gw.admin('GET', '/variables')
  const variablesText = await variables.text()
  t.notOk(variablesText.includes(SECRET), 'no secret in GET /variables')
  t.same(JSON.parse(variablesText), withoutSecretValues(document).variables)
  const one = await gw.admin('GET', '/variables/API_TOKEN')
  const oneText = await one.text()
  t.notOk(oneText.includes(SECRET), 'no secret in GET /variables/:name')
  t.same(JSON.parse(oneText), { name: 'API_TOKEN', kind: 'SECRET', description: 'Upstream bearer' })

  // The MCP client sees the same property order.
  const key = await gw.createKey()
  const client = await gw.connect('demo', key)
  const listed = await client.listTools()
  t.same(Object.keys((listed.tools[0]!.inputSchema as { properties: object }).properties), ['zeta', 'id', 'alpha'], 'tools/list keeps property order')

  const call = async () => {
    const before = upstream.requests.length
    const result = await client.callTool({ name: 'get_user', arguments: { id: 'ada' } })
    t.notOk(result.isError, 'the tool call works')
    return upstream.requests[before]!
  }
  t.equal((await call()).headers.authorization, `Bearer ${SECRET}`, 'the secret reaches the upstream')

  // Re-applying the export (which has no secret value) keeps the stored secret.
  const reapplied = await gw.applyConfig(exported)
  t.equal(reapplied.status, 200, 're-applying the JSON export works')
  t.same(await reapplied.json(), { configVersion: 2 })
  t.equal((await call()).headers.authorization, `Bearer ${SECRET}`, 'the secret survives re-applying the export')

  const fromYaml = await fetch(`${gw.url}/api/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
    body: yamlText
  })
  t.equal(fromYaml.status, 200, 're-applying the YAML export works')
  t.same(await fromYaml.json(), { configVersion: 3 })
  t.equal((await call()).headers.authorization, `Bearer ${SECRET}`, 'the secret survives re-applying the YAML export')
  t.same(JSON.parse(await (await gw.admin('GET', '/config')).text()), withoutSecretValues(document), 'still the same document')

  // A new value replaces the secret.
  const rotated = structuredClone(document)
  rotated.variables[1]!.value = 'rotated-secret'
  t.equal((await gw.applyConfig(rotated)).status, 200)
  t.equal((await call()).headers.authorization, 'Bearer rotated-secret', 'a given value replaces the stored secret')

  // A renamed SECRET is a new variable: without a value it is refused, with its path.
  const renamed = structuredClone(exported)
  renamed.variables[1].name = 'OTHER_TOKEN'
  renamed.providers[0].headers.Authorization = 'Bearer ${OTHER_TOKEN}'
  const refused = await gw.applyConfig(renamed)
  t.equal(refused.status, 400)
  const body = await refused.json() as { error: { code: string, details: Array<{ path: string }> } }
  t.equal(body.error.code, 'TG_ERR_CONFIG_INVALID')
  t.same(body.error.details.map(p => p.path), ['variables[1].value'], 'a new SECRET without value is named by its path')

  // A SECRET that was an ENV variable before is new as a secret too.
  const switched = structuredClone(exported)
  switched.variables[0].kind = 'SECRET'
  delete switched.variables[0].value
  const switchedReply = await gw.applyConfig(switched)
  t.equal(switchedReply.status, 400, 'an ENV turned SECRET needs a value')
  t.same(((await switchedReply.json()) as typeof body).error.details.map(p => p.path), ['variables[0].value'])
})

t.test('an empty gateway exports an empty document that applies', async t => {
  const gw = await startTestGateway(t)
  const response = await gw.admin('GET', '/config?format=yaml')
  t.equal(response.headers.get('toolgate-config-version'), '0')
  const empty = parseYaml(await response.text())
  t.same(empty, { variables: [], providers: [], servers: [] })
  const applied = await fetch(`${gw.url}/api/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
    body: stringifyYaml(empty)
  })
  t.equal(applied.status, 200)
  t.same(await applied.json(), { configVersion: 1 })
})

t.test('the shipped example round-trips exactly', async t => {
  const gw = await startTestGateway(t)
  const text = await readFile(new URL('../../examples/petstore.yaml', import.meta.url), 'utf8')
  const applied = await fetch(`${gw.url}/api/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
    body: text
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const exported = parseYaml(await (await gw.admin('GET', '/config?format=yaml')).text())
  t.same(exported, withoutSecretValues(parseYaml(text)), 'export is the example minus its secret value')
})
