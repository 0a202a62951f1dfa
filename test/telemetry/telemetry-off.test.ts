// TOOLGATE_TELEMETRY=off, the bench/diagnostic switch: calls work, nothing is counted (no usage
// rows, no billing), and there is no /metrics.
import t from 'tap'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { ADMIN_TOKEN, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

t.test('telemetry off: no usage counting, no metrics', async t => {
  const upstream = await startMockUpstream()
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { TOOLGATE_TELEMETRY: 'off' })
  t.equal((await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{ name: 'demo', tools: [{ name: 'user', provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } }] }]
  })).status, 200)
  const client = await gw.connect('demo', await gw.createKey())
  for (let i = 0; i < 3; i++) t.notOk((await client.callTool({ name: 'user', arguments: { id: String(i) } })).isError)
  const usage = await (await gw.admin('GET', '/usage')).json() as { series: unknown[] }
  t.same(usage.series, [], 'no usage rows')
  const billing = await (await gw.admin('GET', '/billing')).json() as { current: { calls: number } }
  t.equal(billing.current.calls, 0, 'no billing count')
  const metrics = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  t.equal(metrics.status, 404, 'no /metrics')
})
