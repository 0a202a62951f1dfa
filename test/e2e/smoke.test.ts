import t from 'tap'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

t.test('an MCP SDK client lists and calls a tool backed by an HTTP API', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{ name: 'demo', tools: [{ name: 'get_user', provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } }] }]
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const key = await gw.createKey()
  const client = await gw.connect('demo', key)
  const { tools } = await client.listTools()
  t.same(tools.map(tool => tool.name), ['get_user'])
  const result = await client.callTool({ name: 'get_user', arguments: { id: 'ada' } })
  t.notOk(result.isError)
  t.match((result.content as Array<{ text: string }>)[0]!.text, /"id":"ada"/)
})
