// End to end: an OpenAPI description of the mock upstream imported through the admin API, then
// its tools called through the MCP SDK client; what arrived at the mock is asserted (path, query,
// header and JSON-body arguments, an apiKey scheme filled from a SECRET variable). Then re-import
// and --prune through the CLI, discovery, and documents that must be refused without a trace.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { runCli } from '../helpers/cli.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)
t.setTimeout(180_000)

const FIXTURE = new URL('../fixtures/openapi/mock-upstream.yaml', import.meta.url)
const yamlText = readFileSync(FIXTURE, 'utf8')

type CallResult = { content: Array<{ type: string, text?: string }>, structuredContent?: Record<string, unknown>, isError?: boolean }

t.test('import, call, re-import, prune, discovery, refusals', async t => {
  const mock = await startMockUpstream()
  t.teardown(() => mock.close())
  const tg = await startTestGateway(t)
  const dir = await mkdtemp(join(tmpdir(), 'toolgate-openapi-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const cliEnvironment = { DATABASE_URL: tg.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: tg.settings.encryptionKeys!, TOOLGATE_DATA_DIR: dir }
  const version = async () => Number((await tg.admin('GET', '/config')).headers.get('toolgate-config-version'))

  // Import through the admin API: the document's text with options, one secret given.
  const response = await tg.admin('POST', '/servers/mock/import/openapi', {
    document: yamlText, baseUrl: mock.url, secrets: { MOCK_APIKEY: 'key-123', MOCK_QUERYKEY: 'q-456' }
  })
  t.equal(response.status, 200)
  const summary = await response.json() as Record<string, any>
  t.same(summary.created.sort(), ['collide', 'createItem', 'deleteItem', 'getItem', 'getUser', 'putNote'])
  t.match(summary.skipped, [{ method: 'POST', path: '/echo/upload', operationId: 'upload', reason: /multipart\/form-data/ }], 'multipart: skipped with its reason')
  t.same(summary.variablesNeedingValues, [], 'both secrets were given')
  t.ok(summary.configVersion > 0)
  const stored = await (await tg.admin('GET', '/variables')).json() as Array<Record<string, unknown>>
  t.same(stored.map(v => [v.name, v.kind, v.value]), [['MOCK_APIKEY', 'SECRET', undefined], ['MOCK_QUERYKEY', 'SECRET', undefined]], 'secrets stored as SECRET variables, never returned')

  const key = await tg.createKey()
  const client = await tg.connect('mock', key)
  const listed = await client.listTools()
  t.same(listed.tools.map(tool => tool.name).sort(), summary.created.sort())
  const getItem = listed.tools.find(tool => tool.name === 'getItem')!
  t.equal(getItem.title, 'Get an item by id')
  t.same(getItem.annotations, { readOnlyHint: true })
  t.same(listed.tools.find(tool => tool.name === 'deleteItem')!.annotations, { destructiveHint: true })
  t.same(listed.tools.find(tool => tool.name === 'putNote')!.annotations, { idempotentHint: true })
  const fullListBytes = Buffer.byteLength(JSON.stringify({ tools: listed.tools }))

  const last = () => mock.requests.at(-1)!
  // Path (integer), query (with a space) and header arguments; the apiKey header from the secret.
  let result = await client.callTool({ name: 'getItem', arguments: { itemId: 7, q: 'x y', 'X-Trace': 'trace-1' } }) as CallResult
  t.notOk(result.isError, result.content[0]?.text ?? "")
  t.equal(last().url, '/echo/items/7?q=x%20y')
  t.equal(last().headers['x-api-key'], 'key-123', 'apiKey header filled from the SECRET variable')
  t.equal(last().headers['x-trace'], 'trace-1')
  t.equal((result.structuredContent as { method: string }).method, 'GET', 'output schema → structuredContent')

  // JSON body properties as flat arguments, with a query parameter beside them.
  result = await client.callTool({ name: 'createItem', arguments: { name: 'spoon', tags: ['a', 'b'], dryRun: true } }) as CallResult
  t.notOk(result.isError, result.content[0]?.text ?? "")
  t.equal(last().method, 'POST')
  t.equal(last().url, '/echo/items?dryRun=true')
  t.same(JSON.parse(last().body), { name: 'spoon', tags: ['a', 'b'] })
  t.match(last().headers['content-type'], /application\/json/)

  // A name in two places: the path keeps it, the body property is renamed and mapped back.
  result = await client.callTool({ name: 'collide', arguments: { id: 'in-path', id_body: 'in-body' } }) as CallResult
  t.notOk(result.isError, result.content[0]?.text ?? "")
  t.equal(last().url, '/echo/collide/in-path')
  t.same(JSON.parse(last().body), { id: 'in-body' })

  // Validation from the imported schema: a required body property missing.
  result = await client.callTool({ name: 'createItem', arguments: { tags: [] } }) as CallResult
  t.ok(result.isError)
  t.match(result.content[0]?.text, /name/)

  // apiKey in the query (operation-level security).
  result = await client.callTool({ name: 'putNote', arguments: { text: 'hi' } }) as CallResult
  t.notOk(result.isError, result.content[0]?.text ?? "")
  t.equal(last().url, '/echo/notes?api_key=q-456')
  t.same(JSON.parse(last().body), { text: 'hi' })

  // An object output schema with a nullable field (OpenAPI 3.0) validates the real answer.
  result = await client.callTool({ name: 'getUser', arguments: { id: 'u1' } }) as CallResult
  t.notOk(result.isError, result.content[0]?.text ?? "")
  t.equal(result.structuredContent?.name, 'Ada Lovelace')

  // The operator edits a description; a re-import (CLI, a document without deleteItem) keeps it.
  const tool = await (await tg.admin('GET', '/servers/mock/tools/getItem')).json() as Record<string, unknown>
  t.equal((await tg.admin('PUT', '/servers/mock/tools/getItem', { ...tool, description: 'Operator wording' })).status, 200)
  const reduced = yamlText.replace(/    delete:\n      operationId: deleteItem\n(.*\n)*?      responses:\n        "204": \{ description: Deleted \}\n/, '')
  t.notMatch(reduced, /deleteItem/, 'the fixture edit removed deleteItem')
  const reducedFile = join(dir, 'reduced.yaml')
  await writeFile(reducedFile, reduced)
  let cli = await runCli(['import', 'openapi', reducedFile, '--server', 'mock', '--json'], cliEnvironment)
  t.equal(cli.code, 0, cli.stderr)
  let plan = JSON.parse(cli.stdout)
  t.same(plan.created, [])
  t.same(plan.removed, [{ name: 'deleteItem', method: 'DELETE', path: '/echo/items/{itemId}', pruned: false }], 'removed operation reported, kept')
  t.ok(plan.unchanged.includes('getItem'), 'getItem: nothing the importer owns changed')
  let names = (await (await tg.admin('GET', '/servers/mock/tools')).json() as Array<{ name: string, description: string }>)
  t.ok(names.some(n => n.name === 'deleteItem'), 'deleteItem still there without --prune')
  t.equal(names.find(n => n.name === 'getItem')!.description, 'Operator wording', 'the edited description survived')

  // Dry run with --prune: reported, nothing applied.
  const before = await version()
  cli = await runCli(['import', 'openapi', reducedFile, '--server', 'mock', '--prune', '--dry-run'], cliEnvironment)
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, /dry run, nothing applied/)
  t.match(cli.stdout, /removed: deleteItem \(DELETE \/echo\/items\/\{itemId\}\)/)
  t.equal(await version(), before, 'dry run applied nothing')

  // --secret NAME takes the value from the environment (never in argv): the next call uses it.
  cli = await runCli(['import', 'openapi', reducedFile, '--server', 'mock', '--prune', '--secret', 'MOCK_APIKEY'], { ...cliEnvironment, MOCK_APIKEY: 'key-from-env' })
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, /removed: deleteItem/)
  const rotated = await tg.connect('mock', key)
  await rotated.callTool({ name: 'getItem', arguments: { itemId: 1 } })
  t.equal(last().headers['x-api-key'], 'key-from-env', 'the secret given through the environment is used')
  cli = await runCli(['import', 'openapi', reducedFile, '--server', 'mock', '--secret', 'NOT_SET'], cliEnvironment)
  t.equal(cli.code, 2)
  t.match(cli.stderr, /--secret NOT_SET: no environment variable NOT_SET/)
  names = (await (await tg.admin('GET', '/servers/mock/tools')).json() as Array<{ name: string, description: string }>)
  t.notOk(names.some(n => n.name === 'deleteItem'), 'pruned with --prune')
  t.equal(names.find(n => n.name === 'getItem')!.description, 'Operator wording')

  // From a URL (a loopback server of the test), with a tag filter: only the users operation.
  const docServer = createServer((req, res) => {
    if (req.url === '/openapi.yaml') { res.writeHead(200, { 'content-type': 'application/yaml' }); res.end(yamlText) } else { res.writeHead(404); res.end() }
  })
  await new Promise<void>(resolve => docServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => docServer.close(() => resolve())))
  const docUrl = `http://127.0.0.1:${(docServer.address() as AddressInfo).port}/openapi.yaml`
  const fromUrl = await tg.admin('POST', '/servers/people/import/openapi', { url: docUrl, provider: 'people', baseUrl: mock.url, includeTags: ['users'] })
  t.equal(fromUrl.status, 200)
  const urlPlan = await fromUrl.json() as Record<string, any>
  t.same(urlPlan.created, ['getUser'])
  t.equal(urlPlan.filtered, 6)
  t.same(urlPlan.variablesNeedingValues.map((v: { name: string }) => v.name), ['PEOPLE_APIKEY'], 'a secret without a value is created empty and reported')

  // Discovery on: tools/list has the three meta-tools; search, describe and call work end to end.
  const server = await (await tg.admin('GET', '/servers/mock')).json() as Record<string, unknown>
  t.equal((await tg.admin('PUT', '/servers/mock', { ...server, discovery: true })).status, 200)
  const discovering = await tg.connect('mock', key)
  const meta = await discovering.listTools()
  t.same(meta.tools.map(tool => tool.name), ['search_tools', 'describe_tool', 'call_tool'])
  const discoveryListBytes = Buffer.byteLength(JSON.stringify({ tools: meta.tools }))
  t.comment(`mock server tools/list: ${fullListBytes} B (~${Math.ceil(fullListBytes / 4)} tokens) without discovery, ${discoveryListBytes} B (~${Math.ceil(discoveryListBytes / 4)} tokens) with`)
  result = await discovering.callTool({ name: 'search_tools', arguments: { query: 'create an item' } }) as CallResult
  const found = (result.structuredContent as { tools: Array<{ name: string }> }).tools
  t.equal(found[0]?.name, 'createItem', `ranked: ${found.map(f => f.name).join(', ')}`)
  result = await discovering.callTool({ name: 'search_tools', arguments: { query: '^get', match: 'regex' } }) as CallResult
  t.same((result.structuredContent as { tools: Array<{ name: string }> }).tools.map(f => f.name).sort(), ['getItem', 'getUser'])
  result = await discovering.callTool({ name: 'describe_tool', arguments: { name: 'getItem' } }) as CallResult
  t.same(Object.keys((result.structuredContent as { inputSchema: { properties: object } }).inputSchema.properties), ['itemId', 'q', 'X-Trace'])
  result = await discovering.callTool({ name: 'call_tool', arguments: { name: 'getItem', arguments: { itemId: 9, 'X-Trace': 'via-meta' } } }) as CallResult
  t.notOk(result.isError, result.content[0]?.text ?? "")
  t.equal(last().url, '/echo/items/9')
  t.equal(last().headers['x-trace'], 'via-meta')
  t.equal(last().headers['x-api-key'], 'key-from-env')
  result = await discovering.callTool({ name: 'call_tool', arguments: { name: 'getItem', arguments: { itemId: 'not-a-number' } } }) as CallResult
  t.ok(result.isError, 'call_tool validates the arguments like a direct call')
  t.match(result.content[0]?.text, /itemId/)
  result = await discovering.callTool({ name: 'call_tool', arguments: { name: 'nope' } }) as CallResult
  t.ok(result.isError)
  t.match(result.content[0]?.text, /Unknown tool: nope/)

  // The document itself as a YAML body, options in the query string; a dry run applies nothing.
  const { ADMIN_TOKEN } = await import('../helpers/gateway.ts')
  const unchanged = await version()
  const yamlBody = await fetch(`${tg.url}/api/v1/servers/mock/import/openapi?dryRun=true&baseUrl=${encodeURIComponent(mock.url)}&includeTags=items`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' }, body: yamlText
  })
  t.equal(yamlBody.status, 200)
  const dry = await yamlBody.json() as Record<string, any>
  t.equal(dry.dryRun, true)
  t.same(dry.created, ['deleteItem'], 'the pruned operation would come back')
  t.equal(dry.configVersion, undefined)
  t.equal(await version(), unchanged, 'dry run: nothing applied')

  // Refused documents: a clear error naming the place; nothing changes.
  const refuse = async (label: string, body: unknown, status: number, path: RegExp, message: RegExp) => {
    const answer = await tg.admin('POST', '/servers/mock/import/openapi', body)
    t.equal(answer.status, status, `${label}: HTTP ${status}`)
    const error = (await answer.json() as { error: { code: string, message: string, details?: Array<{ path: string, message: string }> } }).error
    t.match(error.details?.[0]?.path ?? '', path, `${label}: names ${error.details?.[0]?.path}`)
    t.match(error.message, message, `${label}: ${error.message.split('\n')[1] ?? error.message}`)
  }
  await refuse('invalid YAML', { document: 'openapi: 3.0.0\ninfo: [\n', baseUrl: mock.url }, 400, /^line 3, column 1$/, /not valid YAML/)
  const dangling = yamlText.replace('$ref: "#/components/schemas/NewItem"', '$ref: "#/components/schemas/Missing"')
  await refuse('dangling $ref', { document: dangling, baseUrl: mock.url }, 400,
    /^paths\["\/echo\/items"\]\.post\.requestBody\.content\["application\/json"\]\.schema\.\$ref$/, /does not resolve/)
  await refuse('unsupported version', { document: yamlText.replace('openapi: 3.0.3', 'openapi: 4.0.0'), baseUrl: mock.url }, 400, /^openapi$/, /unsupported version "4\.0\.0"/)
  await refuse('invalid parameter', { document: yamlText.replace('in: query\n          schema: { type: string }', 'in: nowhere\n          schema: { type: string }'), baseUrl: mock.url }, 400, /parameters\[0\]\.in$/, /allowed values/)
  const typo = await tg.admin('POST', '/servers/mock/import/openapi', { document: yamlText, baseUrl: mock.url, includeTag: ['items'] })
  t.equal(typo.status, 400, 'an unknown option is refused, not ignored')
  t.match((await typo.json() as { error: { message: string } }).error.message, /unknown option "includeTag"/)
  t.equal(await version(), unchanged, 'nothing was applied')

  // 20 MB: over the default 16 MiB limit, through the API (413) and the CLI (before reading).
  const huge = JSON.stringify({ openapi: '3.0.3', info: { title: 'huge', version: '1' }, paths: {}, 'x-padding': 'x'.repeat(20 * 1024 * 1024) })
  const big = await fetch(`${tg.url}/api/v1/servers/mock/import/openapi`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: huge })
  t.equal(big.status, 413, 'API: 413 over TOOLGATE_MAX_OPENAPI_BYTES')
  await big.text()
  const hugeFile = join(dir, 'huge.json')
  await writeFile(hugeFile, huge)
  cli = await runCli(['import', 'openapi', hugeFile, '--server', 'mock'], cliEnvironment)
  t.equal(cli.code, 1)
  t.match(cli.stderr, /huge\.json is 2097\d+ bytes, over the limit of 16777216 bytes \(TOOLGATE_MAX_OPENAPI_BYTES\)/)
  cli = await runCli(['import', 'openapi', join(dir, 'bad.yaml'), '--server', 'mock'], cliEnvironment)
  t.equal(cli.code, 2, 'a missing file is a usage error')
  await writeFile(join(dir, 'bad.yaml'), 'openapi: 3.0.0\ninfo: [\n')
  cli = await runCli(['import', 'openapi', join(dir, 'bad.yaml'), '--server', 'mock', '--base-url', mock.url], cliEnvironment)
  t.equal(cli.code, 1)
  t.match(cli.stderr, /line 3, column 1: is not valid YAML/)
  t.equal(await version(), unchanged, 'still nothing applied')
})
