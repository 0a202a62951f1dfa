// The expected-failures rules: every entry needs a reason naming a spec clause, the committed
// files satisfy it, and per-check entries excuse only the checks they name.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkExpectedFailureReasons, isExpected, readExpectedFailures } from './expected-failures.ts'

t.test('the committed expected-failures files give every entry a reason', async t => {
  t.same(await checkExpectedFailureReasons(), [])
})

t.test('entries without a reason naming a spec clause are reported', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'tg-expected-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'a.yaml'), [
    'server:',
    '  # Toolgate answers 404 here; spec 2025-11-25 basic/transports says so.',
    '  - scenario-with-reason',
    '  - shares-the-comment-above',
    '',
    '  # just because',
    '  - scenario-without-clause',
    '  - no-comment-at-all:some-check'
  ].join('\n'))
  const problems = await checkExpectedFailureReasons(`${dir}/`)
  t.equal(problems.length, 2)
  t.match(problems[0], /"scenario-without-clause"/)
  t.match(problems[1], /"no-comment-at-all:some-check"/)
})

t.test('a per-check entry excuses only its checks', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'tg-expected-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'b.yaml')
  await writeFile(file, 'server:\n  - whole\n  - part:check-a\n')
  const expected = await readExpectedFailures(file)
  const failing = (scenario: string, ...ids: string[]) => ({ scenario, failed: true, checks: ids.map(id => ({ id, status: 'FAILURE' })) })
  t.ok(isExpected(failing('whole', 'x', 'y'), expected))
  t.ok(isExpected(failing('part', 'check-a'), expected))
  t.notOk(isExpected(failing('part', 'check-a', 'check-b'), expected))
  t.notOk(isExpected(failing('other', 'check-a'), expected))
})
