// GitHub's description through the real route and the MCP client: the 13 MB body is accepted,
// the import is applied, and tools/list is measured as a client receives it, discovery off and on.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import t from 'tap'
import { ADMIN_TOKEN, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)
t.setTimeout(240_000)

const file = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json')

t.test('GitHub via POST /import/openapi, tools/list sizes with discovery off and on', async t => {
  const tg = await startTestGateway(t)
  const started = performance.now()
  const response = await fetch(`${tg.url}/api/v1/servers/github/import/openapi?outputSchemas=false`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: readFileSync(file)
  })
  const importMs = Math.round(performance.now() - started)
  const body = await response.text()
  t.equal(response.status, 200, body.slice(0, 300))
  const plan = JSON.parse(body) as { created: string[], variablesNeedingValues: unknown[] }
  t.ok(plan.created.length >= 1000, `${plan.created.length} tools imported and applied in ${importMs} ms`)
  const key = await tg.createKey()

  // The tools/list result as the MCP SDK client receives it, serialized again (the HTTP body adds
  // the JSON-RPC envelope: a few dozen bytes).
  const measure = async () => {
    const client = await tg.connect('github', key)
    const result = await client.listTools()
    const text = JSON.stringify(result)
    return { status: 200, bytes: Buffer.byteLength(text), text }
  }
  const off = await measure()
  t.equal(off.status, 200, off.text.slice(0, 200))
  t.match(off.text, /issues_create-comment/)

  const server = await (await tg.admin('GET', '/servers/github')).json() as Record<string, unknown>
  const { tools: _, ...rest } = server
  // PUT replaces the server: keep its tools.
  t.equal((await tg.admin('PUT', '/servers/github', { ...rest, tools: server.tools, discovery: true })).status, 200)
  const on = await measure()
  t.equal(on.status, 200)
  t.match(on.text, /search_tools/)
  t.comment(`tools/list result for the GitHub import without output schemas: discovery off ${off.bytes} B (~${Math.ceil(off.bytes / 4)} tokens), on ${on.bytes} B (~${Math.ceil(on.bytes / 4)} tokens): ${(100 - on.bytes / off.bytes * 100).toFixed(2)}% fewer`)
  t.ok(on.bytes < off.bytes / 100)

  const client = await tg.connect('github', key)
  const found = await client.callTool({ name: 'search_tools', arguments: { query: 'create an issue comment', limit: 3 } }) as unknown as { structuredContent: { tools: Array<{ name: string }> } }
  t.ok(found.structuredContent.tools.map(x => x.name).includes('issues_create-comment'), found.structuredContent.tools.map(x => x.name).join(', '))
})
