// The discovery index on its own: ranking, exact and regex modes, argument checks, both eras.
import t from 'tap'
import { DiscoveryIndex } from '../../src/discovery/index.ts'
import { compileConfig } from '../../src/tools/compile.ts'

const tool = (name: string, title: string, description: string, properties: Record<string, unknown> = {}) =>
  ({ name, title, description, provider: 'p', method: 'GET' as const, path: `/${name}`, input: { type: 'object', properties } })

const compiled = compileConfig({
  providers: [{ name: 'p', baseUrl: 'https://api.example.com' }],
  servers: [{
    name: 's',
    discovery: true,
    tools: [
      tool('issues_create-comment', 'Create an issue comment', 'Comments on an issue.', { issue_number: { type: 'integer' }, body: { type: 'string' } }),
      tool('issues_list', 'List issues', 'Lists the issues of a repository.'),
      tool('repos_get', 'Get a repository', 'One repository.', { owner: { type: 'string' } }),
      tool('listUserFollowers', 'List followers', 'Followers of a user.')
    ]
  }]
}, 1, new Map(), { timeoutMs: 1000, maxResponseBytes: 1024 })
const server = compiled.servers.get('s')!
const index = server.discovery as DiscoveryIndex

t.test('built at compile; three meta-tools, without titles for the 2025-03-26 era', async t => {
  t.ok(index instanceof DiscoveryIndex)
  t.same(index.descriptors(true).map(d => d.name), ['search_tools', 'describe_tool', 'call_tool'])
  t.notOk(index.descriptors(false).some(d => 'title' in d))
})

t.test('ranked, exact and regex search', async t => {
  t.equal(index.rank('create an issue comment')[0]?.name, 'issues_create-comment')
  t.equal(index.rank('followers of a user')[0]?.name, 'listUserFollowers', 'camelCase names are split')
  t.equal(index.rank('owner')[0]?.name, 'repos_get', 'parameter names are indexed')
  const exact = index.answer('search_tools', { query: 'ISSUES_', match: 'exact' }, true)
  t.same('result' in exact && (exact.result.structuredContent as { tools: Array<{ name: string }> }).tools.map(x => x.name), ['issues_create-comment', 'issues_list'])
  const regex = index.answer('search_tools', { query: '^repos?_', match: 'regex' }, true)
  t.same('result' in regex && (regex.result.structuredContent as { tools: Array<{ name: string }> }).tools.map(x => x.name), ['repos_get'])
  for (const bad of [{ query: '(a+)+$', match: 'regex' }, { query: '(', match: 'regex' }, { query: '' }, { query: 'x', limit: 0 }, { query: 'x', match: 'fuzzy' }]) {
    const outcome = index.answer('search_tools', bad, true)
    t.ok('result' in outcome && outcome.result.isError, `refused: ${JSON.stringify(bad)}`)
  }
})

t.test('describe_tool and call_tool', async t => {
  const described = index.answer('describe_tool', { name: 'repos_get' }, true)
  t.match('result' in described && described.result.structuredContent, { name: 'repos_get', title: 'Get a repository', inputSchema: { properties: { owner: { type: 'string' } } } })
  t.same(index.answer('call_tool', { name: 'repos_get', arguments: { owner: 'o' } }, true), { call: { name: 'repos_get', arguments: { owner: 'o' } } })
  const unknown = index.answer('call_tool', { name: 'nope' }, true)
  t.ok('result' in unknown && unknown.result.isError)
  const badArgs = index.answer('call_tool', { name: 'repos_get', arguments: [1] }, true)
  t.ok('result' in badArgs && badArgs.result.isError)
})

t.test('discovery is a field of api servers only', async t => {
  const { validateDocument } = await import('../../src/config/validate.ts')
  t.throws(() => validateDocument({ servers: [{ name: 'r', kind: 'remote-mcp', url: 'https://mcp.example.com/mcp', discovery: true }] }), /servers\[0\]\.discovery: only for api servers/)
  t.throws(() => validateDocument({ servers: [{ name: 'a', discovery: 'yes' }] }), /discovery/)
  t.doesNotThrow(() => validateDocument({ servers: [{ name: 'a', discovery: true }] }))
})
