// `${NAME}` references resolve in provider base URLs, provider headers, tool headers and tool paths
// (ENV and SECRET alike), checked on what the upstream actually received.
import t from 'tap'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

t.test('variables resolve everywhere they are allowed', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const port = new URL(upstream.url).port
  const document = (region: string, token: string) => ({
    variables: [
      { name: 'UPSTREAM_PORT', kind: 'ENV', value: port },
      { name: 'API_PREFIX', kind: 'ENV', value: 'echo/v2' },
      { name: 'REGION', kind: 'ENV', value: region },
      { name: 'TOKEN', kind: 'SECRET', value: token },
      { name: 'TENANT', kind: 'SECRET', value: 'tenant-7' }
    ],
    providers: [{
      name: 'mock',
      baseUrl: 'http://127.0.0.1:${UPSTREAM_PORT}/${API_PREFIX}',
      headers: { Authorization: 'Bearer ${TOKEN}', 'X-Region': 'region=${REGION}' }
    }],
    servers: [{
      name: 'demo',
      tools: [{
        name: 'get_item',
        provider: 'mock',
        method: 'GET',
        path: '/${REGION}/tenants/${TENANT}/items/{id}',
        headers: { 'X-Tenant': '${TENANT}', 'X-Both': '${REGION}:${TENANT}' },
        input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
      }]
    }]
  })

  t.equal((await gw.applyConfig(document('eu', 'secret-token-1'))).status, 200)
  const client = await gw.connect('demo', await gw.createKey())
  const call = async () => {
    const before = upstream.requests.length
    const result = await client.callTool({ name: 'get_item', arguments: { id: 'x1' } })
    t.notOk(result.isError, JSON.stringify(result.content))
    t.equal(upstream.requests.length, before + 1, 'one upstream request')
    return upstream.requests.at(-1)!
  }

  let seen = await call()
  t.equal(seen.url, '/echo/v2/eu/tenants/tenant-7/items/x1', 'base URL and tool path variables resolve')
  t.equal(seen.headers.authorization, 'Bearer secret-token-1', 'a SECRET resolves in a provider header')
  t.equal(seen.headers['x-region'], 'region=eu', 'an ENV resolves in a provider header')
  t.equal(seen.headers['x-tenant'], 'tenant-7', 'a SECRET resolves in a tool header')
  t.equal(seen.headers['x-both'], 'eu:tenant-7', 'several variables resolve in one template')

  // A new value takes effect with the next apply, no restart.
  t.equal((await gw.applyConfig(document('us', 'secret-token-2'))).status, 200)
  seen = await call()
  t.equal(seen.url, '/echo/v2/us/tenants/tenant-7/items/x1')
  t.equal(seen.headers.authorization, 'Bearer secret-token-2')
  t.equal(seen.headers['x-region'], 'region=us')

  // Through the REST resource too: replacing a variable re-resolves every use.
  const put = await gw.admin('PUT', '/variables/REGION', { name: 'REGION', kind: 'ENV', value: 'ap' })
  t.equal(put.status, 200)
  seen = await call()
  t.equal(seen.url, '/echo/v2/ap/tenants/tenant-7/items/x1')
  t.equal(seen.headers['x-region'], 'region=ap')
  t.equal(seen.headers.authorization, 'Bearer secret-token-2', 'the untouched secret is kept by a REST edit')
})
