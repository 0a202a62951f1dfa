// What Toolgate relays from an upstream MCP server to its own clients: list changes and resource
// updates on legacy GET streams and on 2026-07-28 listen streams, resource subscriptions (held on
// the shared upstream session and released on unsubscribe and DELETE), and completion/complete.
import t from 'tap'
import { ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { startFixtureServer, type FixtureServer } from '../fixtures/mcp-fixture-server.ts'
import { startTestGateway, useTestCluster, type TestGateway } from '../helpers/gateway.ts'
import { mcpRaw, rawSession } from '../helpers/mcp-raw.ts'
import { openSse } from '../helpers/sse.ts'

useTestCluster(t)

let fixture: FixtureServer
let gw: TestGateway
let key: string

t.before(async () => {
  fixture = await startFixtureServer()
  gw = await startTestGateway(t)
  const applied = await gw.applyConfig({ servers: [{ name: 'fx', kind: 'remote-mcp', url: fixture.url, transport: 'streamable-http' }] })
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  key = await gw.createKey()
})
t.teardown(() => fixture.close())

async function waitFor<T> (promise: Promise<T>, ms = 3000): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<'timeout'>(resolve => { timer = setTimeout(resolve, ms, 'timeout') })])
  } finally {
    clearTimeout(timer)
  }
}

t.test('capabilities follow the upstream: resources.subscribe and completions', async t => {
  const client = await gw.connect('fx', key)
  t.match(client.getServerCapabilities(), { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true, subscribe: true }, completions: {} })
  const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'greeting' }, argument: { name: 'who', value: 'an' } })
  t.same(completion.completion.values, ['ann', 'anna'], 'completion/complete is forwarded')
})

t.test('legacy: subscribe, updates on the GET stream, unsubscribe and DELETE release the upstream subscription', async t => {
  const client = await gw.connect('fx', key)
  const updated: string[] = []
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, notification => { updated.push(notification.params.uri) })
  const listChanged = new Promise<void>(resolve => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()))
  await new Promise(resolve => setTimeout(resolve, 300)) // the client opens its GET stream after initialized

  await client.subscribeResource({ uri: 'fixture://readme' })
  t.same(fixture.subscriptionRequests.filter(r => r.endsWith('fixture://readme')), ['+fixture://readme'], 'the upstream was asked once')
  await fixture.updateResource('fixture://readme')
  const deadline = Date.now() + 3000
  while (updated.length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.same(updated, ['fixture://readme'], 'notifications/resources/updated reached the client')

  await fixture.addTool('late_tool')
  t.equal(await waitFor(listChanged), undefined, 'the upstream tools/list_changed reached the client')
  t.ok((await client.listTools()).tools.some(tool => tool.name === 'late_tool'))

  await client.unsubscribeResource({ uri: 'fixture://readme' })
  t.same(fixture.subscriptionRequests.filter(r => r.endsWith('fixture://readme')), ['+fixture://readme', '-fixture://readme'], 'released upstream')

  const { session, version } = await rawSession(gw.url, 'fx', key)
  const subscribe = await mcpRaw(gw.url, 'fx', { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'fixture://readme' } }, { key, session, version })
  t.same(subscribe.json.result, {})
  t.equal(fixture.subscriptionRequests.at(-1), '+fixture://readme')
  t.equal((await mcpRaw(gw.url, 'fx', undefined, { method: 'DELETE', key, session, version })).status, 204)
  t.equal(fixture.subscriptionRequests.at(-1), '-fixture://readme', 'DELETE released the session’s subscription')
})

t.test('2026-07-28: listen delivers upstream list changes and subscribed resource updates', async t => {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} }
  const stream = await openSse(`${gw.url}/mcp/fx`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'subscriptions/listen' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'L1', method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true, resourceSubscriptions: ['fixture://readme'] }, _meta: meta } })
  })
  t.teardown(() => stream.close())
  const ack = await stream.next()
  t.match(ack?.json, { method: 'notifications/subscriptions/acknowledged', params: { notifications: { toolsListChanged: true, resourceSubscriptions: ['fixture://readme'] } } })
  t.equal(fixture.subscriptionRequests.at(-1), '+fixture://readme', 'the upstream subscription is held while the stream is open')

  await fixture.updateResource('fixture://readme')
  t.match((await stream.next(3000))?.json, { method: 'notifications/resources/updated', params: { uri: 'fixture://readme', _meta: { 'io.modelcontextprotocol/subscriptionId': 'L1' } } })
  await fixture.addTool('later_still')
  t.match((await stream.next(3000))?.json, { method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'L1' } } })

  await stream.close()
  const deadline = Date.now() + 3000
  while (fixture.subscriptionRequests.at(-1) !== '-fixture://readme' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(fixture.subscriptionRequests.at(-1), '-fixture://readme', 'closing the stream releases it')
})
