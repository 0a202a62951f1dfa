// GitHub's REST description (1,000+ operations): imports with no crash, every tool valid, the
// result compiles, and discovery ranks the right operation for a plain-words query. Time and peak
// RSS come from a process of its own (github-import-run.ts); docs/BENCHMARKS.md records them.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

t.setTimeout(180_000)

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
const SCRIPT = fileURLToPath(new URL('./github-import-run.ts', import.meta.url))

t.test('GitHub import', async t => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(NODE, ['--no-node-snapshot', SCRIPT], { timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))
  })
  const report = JSON.parse(out.trim().split('\n').pop()!)
  t.comment(`GitHub: ${report.created} tools; import ${report.importMs} ms (parse+validate ${report.parseValidateMs} ms), peak RSS ${report.importMaxRssMB} MB; compile ${report.compileMs} ms, peak RSS ${report.maxRssMB} MB`)
  t.comment(`tools/list: ${report.toolList.before.bytes} B unsimplified → ${report.toolList.after.bytes} B imported → ${report.toolList.discoveryBytes} B with discovery`)
  t.ok(report.operations >= 1000, `${report.operations} operations`)
  t.same(report.problems, [], 'every name valid and unique, every tool described, every input schema compiles')
  t.equal(report.compiledTools, report.created, 'the whole result passes the config validator and compiler')
  t.ok(report.importMs < 10_000, `import under 10 s (${report.importMs} ms)`)
  t.ok(report.importMaxRssMB < 500, `import under 500 MB RSS (${report.importMaxRssMB} MB)`)
  const top3 = report.ranking.slice(0, 3).map((r: { name: string }) => r.name)
  t.ok(top3.includes('issues_create-comment'), `"create an issue comment" → ${top3.join(', ')}`)
  t.ok(report.toolList.discoveryBytes < report.toolList.after.bytes / 100, 'discovery lists a tiny fraction of the catalogue')
})
