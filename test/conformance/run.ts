// `npm run conformance`: the official MCP conformance suites against a real Toolgate.
//
//   fixture MCP server (loopback) ──remote-mcp──► Toolgate ◄── auth forwarder ◄── conformance CLI
//   fixture HTTP API  (loopback) ──────api─────►
//
// Runs 0.1.16's active suite and 0.2.0-alpha.12 with --requirements 2025-11-25 and 2026-07-28
// first straight against the fixture (proving it), then against the remote-mcp servers (fixture
// over Streamable HTTP, and over legacy HTTP+SSE), and the tool scenarios an HTTP API can express
// against the api server. Each run is judged by the CLI itself against its expected-failures file (a failure not
// listed, or a listed scenario that now passes, fails the run). Prints each run's summary lines
// and ends with one line `conformance: N passed, M failed[, K expected failures]` (scenarios),
// which .ci/run adds to its totals. Exit status 0 only when every run's verdict is clean.
//
// Options: --only <text>     runs whose id contains <text> (repeatable)
//          --results <dir>   where result directories and logs go (default: a new temp dir)
//          --json <file>     also write every scenario's checks as JSON (FAILURES-REPORT input)
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startAuthForwarder } from './auth-forwarder.ts'
import { checkExpectedFailureReasons, isExpected, readExpectedFailures } from './expected-failures.ts'
import { fixtureApiTools, startFixtureApi } from './fixture-api.ts'
import { startFixtureServer } from './fixture-server.ts'
import { startConformanceGateway } from './gateway.ts'
import { runSuite, type SuiteResult } from './run-suite.ts'
import { apiRuns, fixtureRuns, notScoredScenarios, remoteMcpRuns, type SuiteRun } from './suites.ts'

const REMOTE_SERVER = 'conformance'
const REMOTE_SSE_SERVER = 'conformance-sse'
const API_SERVER = 'conformance-api'

const { values: options } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    results: { type: 'string' },
    json: { type: 'string' }
  }
})

function configDocument (apiUrl: string, fixture: { url: string, sseUrl: string }): Record<string, unknown> {
  return {
    providers: [{ name: 'fixture-api', baseUrl: apiUrl }],
    servers: [
      { name: REMOTE_SERVER, kind: 'remote-mcp', url: fixture.url, transport: 'streamable-http' },
      { name: REMOTE_SSE_SERVER, kind: 'remote-mcp', url: fixture.sseUrl, transport: 'sse' },
      { name: API_SERVER, description: 'Conformance fixture tools over an HTTP API', tools: fixtureApiTools('fixture-api') }
    ]
  }
}

function selected (runs: SuiteRun[]): SuiteRun[] {
  const only = options.only
  return only && only.length > 0 ? runs.filter(run => only.some(text => run.id.includes(text))) : runs
}

async function main (): Promise<number> {
  const resultsDir = options.results ?? await mkdtemp(join(tmpdir(), 'toolgate-conformance-results-'))
  await mkdir(resultsDir, { recursive: true })
  console.log(`conformance results: ${resultsDir}`)

  const reasonProblems = await checkExpectedFailureReasons()
  for (const problem of reasonProblems) console.log(`expected-failures: ${problem}`)

  // Whatever started is stopped again, in reverse order, even when a later start fails.
  const stops: Array<() => Promise<void>> = []
  const results: SuiteResult[] = []
  try {
    const fixture = await startFixtureServer()
    stops.push(() => fixture.close())
    const api = await startFixtureApi()
    stops.push(() => api.close())
    const forwarder = await startAuthForwarder()
    stops.push(() => forwarder.close())
    const gateway = await startConformanceGateway(forwarder.origin, join(resultsDir, 'gateway.log'))
    stops.push(() => gateway.stop())
    forwarder.route(gateway.url, await gateway.createKey())
    const applied = await gateway.applyConfig(configDocument(api.url, fixture))
    if (applied.status !== 200) throw new Error(`applying the conformance config failed: ${applied.status} ${applied.text}`)
    const runs = selected([
      ...fixtureRuns(),
      ...remoteMcpRuns(REMOTE_SERVER),
      ...remoteMcpRuns(REMOTE_SSE_SERVER, 'remote-mcp-sse'),
      ...apiRuns(API_SERVER)
    ])
    for (const run of runs) {
      const url = run.server === undefined ? fixture.url : `${forwarder.origin}/mcp/${run.server}`
      const result = await runSuite(run, url, resultsDir, process.execPath)
      results.push(result)
      const verdict = result.exitCode === 0 ? 'clean' : 'NOT CLEAN'
      const target = run.server === undefined ? 'fixture directly' : `Toolgate /mcp/${run.server}`
      console.log(`\n== ${run.id} (${run.version} ${run.args.join(' ')}) → ${target}: ${verdict}, ${(result.durationMs / 1000).toFixed(1)} s`)
      // Single-scenario runs print per-check output; their one verdict line is enough here.
      const lines = run.args.includes('--scenario')
        ? result.scenarios.map(s => `${s.failed ? '✗' : '✓'} ${s.scenario}: ${s.checks.filter(c => c.status === 'SUCCESS').length} passed, ${s.checks.filter(c => c.status === 'FAILURE').length} failed`)
        : result.summary
      for (const line of lines) console.log(`   ${line}`)
      if (result.exitCode !== 0) console.log(`   log: ${result.logFile}`)
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(err => console.error('shutdown step failed:', err))
  }

  const records = []
  let passed = 0
  let failed = reasonProblems.length
  let expected = 0
  let notScored = 0
  // Per target (fixture / remote-mcp / api): scored scenarios passing out of those run.
  const byTarget = new Map<string, { passed: number, scored: number }>()
  for (const result of results) {
    const listed = await readExpectedFailures(result.run.expectedFailures)
    const unscored = await notScoredScenarios(result.run)
    records.push({ id: result.run.id, exitCode: result.exitCode, notScored: [...unscored], scenarios: result.scenarios })
    const target = result.run.id.split('/')[0]!
    const tally = byTarget.get(target) ?? { passed: 0, scored: 0 }
    byTarget.set(target, tally)
    let unexpected = 0
    for (const scenario of result.scenarios) {
      if (unscored.has(scenario.scenario)) {
        notScored++
        continue
      }
      tally.scored++
      if (!scenario.failed) {
        passed++
        tally.passed++
      } else if (isExpected(scenario, listed)) expected++
      else unexpected++
    }
    // A non-zero exit with nothing unexpected is a stale baseline entry or a CLI error: count it.
    failed += unexpected > 0 ? unexpected : (result.exitCode === 0 ? 0 : 1)
  }
  console.log('')
  for (const [target, tally] of byTarget) console.log(`${target}: ${tally.passed}/${tally.scored} scored scenarios pass`)
  // A clean run leaves nothing behind unless asked to; a failing one keeps its logs.
  if (failed === 0 && options.results === undefined) await rm(resultsDir, { recursive: true, force: true })
  if (options.json) await writeFile(options.json, JSON.stringify(records, null, 2))
  // Not-scored scenarios (extensions, pending) still run and show in the summaries above.
  const extra = [expected > 0 ? `${expected} expected failures` : '', notScored > 0 ? `${notScored} not scored` : ''].filter(Boolean)
  console.log(`conformance: ${passed} passed, ${failed} failed${extra.map(e => `, ${e}`).join('')}`)
  return failed === 0 ? 0 : 1
}

main().then(code => { process.exitCode = code }, err => {
  console.error(err)
  console.log('\nconformance: 0 passed, 1 failed')
  process.exitCode = 1
})
