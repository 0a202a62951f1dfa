// Turns `npm run conformance -- --json <file>` output into the Markdown tables of
// FAILURES-REPORT.md: per run, every failing or warning check with the CLI's own message.
//   node test/conformance/report.ts <results.json>
import { readFile } from 'node:fs/promises'
import type { ScenarioResult } from './run-suite.ts'

interface RunRecord { id: string, exitCode: number, notScored?: string[], scenarios: ScenarioResult[] }

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim()

const runs = JSON.parse(await readFile(process.argv[2] ?? '', 'utf8')) as RunRecord[]
for (const run of runs) {
  const failing = run.scenarios.filter(s => s.failed)
  const passed = run.scenarios.length - failing.length
  console.log(`\n### ${run.id}: ${passed} passed, ${failing.length} failing (CLI exit ${run.exitCode})\n`)
  if (failing.length === 0) continue
  console.log('| Scenario | Check | Status | What the suite saw |')
  console.log('| --- | --- | --- | --- |')
  for (const scenario of failing) {
    const label = run.notScored?.includes(scenario.scenario) ? `${scenario.scenario} (not scored)` : scenario.scenario
    for (const check of scenario.checks.filter(c => c.status === 'FAILURE' || c.status === 'WARNING')) {
      console.log(`| ${label} | ${check.id} | ${check.status} | ${cell((check.errorMessage ?? '').slice(0, 300))} |`)
    }
  }
}
