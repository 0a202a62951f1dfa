// include/exclude/rename as clients see them: globs, exclude over include, renames that take over
// an upstream name, and the way back from an exposed name to the upstream tool.
import t from 'tap'
import { compileNameRules } from '../../src/upstreams/name-rules.ts'

const tools = (...names: string[]) => names.map(name => ({ name, inputSchema: { type: 'object' } }))
const names = (items: Array<Record<string, unknown>>) => items.map(item => item.name)

t.test('no rules: everything as is', async t => {
  const rules = compileNameRules({ include: [], exclude: [], rename: {} })
  t.same(names(rules.exposeTools(tools('a', 'b'))), ['a', 'b'])
  t.equal(rules.upstreamToolName('a'), 'a')
  t.equal(rules.upstreamToolName('anything'), 'anything', 'unknown names go upstream, which answers for them')
})

t.test('globs: include keeps, exclude wins; regex characters are literal', async t => {
  const rules = compileNameRules({ include: ['get_*', 'a.b'], exclude: ['get_secret*'], rename: {} })
  t.same(names(rules.exposeTools(tools('get_user', 'get_secret_key', 'list', 'a.b', 'aXb'))), ['get_user', 'a.b'])
  t.equal(rules.upstreamToolName('get_secret_key'), undefined)
  t.equal(rules.upstreamToolName('aXb'), undefined, '"." is not a wildcard')
  t.same(names(rules.exposePrompts(tools('get_p', 'other'))), ['get_p'], 'prompts are filtered by the same rules')
  t.equal(rules.promptVisible('other'), false)
})

t.test('rename: the new name leads back, the old one is gone, a taken-over name hides its tool', async t => {
  const rules = compileNameRules({ include: [], exclude: [], rename: { old: 'fresh', a: 'b', swap1: 'swap2', swap2: 'swap1' } })
  const exposed = rules.exposeTools(tools('old', 'a', 'b', 'swap1', 'swap2', 'c'))
  t.same(names(exposed), ['fresh', 'b', 'swap2', 'swap1', 'c'], 'the upstream "b" is hidden behind the renamed "a"')
  t.same(exposed[0], { name: 'fresh', inputSchema: { type: 'object' } }, 'the descriptor is kept, with the new name')
  t.equal(rules.upstreamToolName('fresh'), 'old')
  t.equal(rules.upstreamToolName('old'), undefined)
  t.equal(rules.upstreamToolName('b'), 'a')
  t.equal(rules.upstreamToolName('swap1'), 'swap2')
  t.equal(rules.upstreamToolName('swap2'), 'swap1')
})

t.test('an excluded tool stays hidden under its new name', async t => {
  const rules = compileNameRules({ include: [], exclude: ['old'], rename: { old: 'fresh' } })
  t.same(names(rules.exposeTools(tools('old'))), [])
  t.equal(rules.upstreamToolName('fresh'), undefined)
})
