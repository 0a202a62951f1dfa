// Runs one conformance CLI invocation against a URL and collects what it found: the CLI's own
// verdict (its exit code applies the expected-failures baseline, including stale entries), its
// summary lines, and every scenario's checks from the results directory it writes.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CONFORMANCE_CLI, type SuiteRun } from './suites.ts'

export interface Check {
  id: string
  name?: string
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO' | string
  errorMessage?: string
  details?: unknown
}

export interface ScenarioResult {
  scenario: string
  checks: Check[]
  /** A FAILURE or WARNING check (what the CLI's baseline logic counts as failing). */
  failed: boolean
}

export interface SuiteResult {
  run: SuiteRun
  exitCode: number
  /** The CLI's closing lines: per-scenario verdicts, totals, the baseline verdict. */
  summary: string[]
  scenarios: ScenarioResult[]
  logFile: string
  durationMs: number
}

/** A whole suite normally takes under 10 s; this bounds a hung one. */
const RUN_TIMEOUT_MS = 240_000
const ANSI = /\x1b\[[0-9;]*m/g // eslint-disable-line no-control-regex
// Result directories are `server-<scenario>-<ISO time with : and . as ->`.
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/

/** The summary block and the baseline verdict, without the per-check chatter above them. */
function summaryLines (output: string): string[] {
  const lines = output.replace(ANSI, '').split('\n')
  const start = lines.findIndex(line => line.includes('=== SUMMARY ==='))
  const tail = start === -1 ? lines.slice(-15) : lines.slice(start)
  return tail.map(line => line.trimEnd()).filter(line => line !== '')
}

async function readScenarios (dir: string): Promise<ScenarioResult[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  const results: ScenarioResult[] = []
  for (const entry of entries) {
    const match = entry.isDirectory() ? RESULT_DIR.exec(entry.name) : null
    if (!match) continue
    const text = await readFile(join(dir, entry.name, 'checks.json'), 'utf8').catch(() => undefined)
    if (text === undefined) continue
    const checks = JSON.parse(text) as Check[]
    results.push({ scenario: match[1]!, checks, failed: checks.some(c => c.status === 'FAILURE' || c.status === 'WARNING') })
  }
  return results.sort((a, b) => a.scenario.localeCompare(b.scenario))
}

export async function runSuite (run: SuiteRun, url: string, resultsDir: string, node: string): Promise<SuiteResult> {
  const outputDir = join(resultsDir, run.id.replaceAll('/', '__'))
  const logFile = `${outputDir}.log`
  const args = [
    '--no-node-snapshot', CONFORMANCE_CLI[run.version], 'server',
    '--url', url, ...run.args,
    '--expected-failures', run.expectedFailures,
    '--output-dir', outputDir
  ]
  const started = performance.now()
  const log = createWriteStream(logFile)
  let output = ''
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })
    // 0.1.16 has no per-scenario timeout for servers: a gateway that never answers must not hang CI.
    const watchdog = setTimeout(() => {
      const note = `\nconformance runner: ${run.id} exceeded ${RUN_TIMEOUT_MS / 1000} s, stopped\n`
      output += note
      log.write(note)
      child.kill('SIGKILL')
    }, RUN_TIMEOUT_MS)
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); log.write(chunk) })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); log.write(chunk) })
    child.once('error', err => { clearTimeout(watchdog); reject(err) })
    child.once('close', code => { clearTimeout(watchdog); resolve(code ?? 1) })
  })
  await new Promise<void>(resolve => log.end(() => resolve()))
  return {
    run,
    exitCode,
    summary: summaryLines(output),
    scenarios: await readScenarios(outputDir),
    logFile,
    durationMs: performance.now() - started
  }
}
