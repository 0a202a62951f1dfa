// Which conformance runs `npm run conformance` makes: the suite version, its arguments, and the
// expected-failures file each one is judged against.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The two installed referees (package.json devDependencies). */
export const CONFORMANCE_CLI = {
  '0.1.16': `${root}node_modules/@modelcontextprotocol/conformance/dist/index.js`,
  '0.2.0-alpha.12': `${root}node_modules/conformance-next/dist/index.js`
} as const

export type ConformanceVersion = keyof typeof CONFORMANCE_CLI

export interface SuiteRun {
  /** Short name used in output and in the results directory. */
  id: string
  version: ConformanceVersion
  /** Arguments after `server --url <url>`. */
  args: string[]
  /** Which Toolgate server the run targets (`/mcp/<server>`); undefined: the fixture itself. */
  server: string | undefined
  expectedFailures: string
}

const expected = (name: string) => `${root}test/conformance/expected-failures/${name}.yaml`

const FULL_SUITES: Array<{ name: string, version: ConformanceVersion, args: string[] }> = [
  { name: '0.1.16-active', version: '0.1.16', args: ['--suite', 'active'] },
  { name: '0.2.0-alpha.12-req-2025-11-25', version: '0.2.0-alpha.12', args: ['--requirements', '2025-11-25'] },
  { name: '0.2.0-alpha.12-req-2026-07-28', version: '0.2.0-alpha.12', args: ['--requirements', '2026-07-28'] }
]

/**
 * The fixture on its own, before anything is judged through it: every scored scenario must pass
 * (expected-failures/fixture.yaml stays empty), so a failure in the Toolgate runs is Toolgate's.
 */
export function fixtureRuns (): SuiteRun[] {
  return FULL_SUITES.map(suite => ({ id: `fixture/${suite.name}`, version: suite.version, args: suite.args, server: undefined, expectedFailures: expected('fixture') }))
}

/**
 * The MCP fixture behind a `remote-mcp` server: the full suites. `label` names the group
 * (`remote-mcp` over Streamable HTTP, `remote-mcp-sse` over the legacy HTTP+SSE transport).
 */
export function remoteMcpRuns (server: string, label = 'remote-mcp'): SuiteRun[] {
  return FULL_SUITES.map(suite => ({ id: `${label}/${suite.name}`, version: suite.version, args: suite.args, server, expectedFailures: expected(`${label}-${suite.name}`) }))
}

type ApiSuite = '0.1.16' | '2025-11-25' | '2026-07-28'
const ALL_SUITES: ApiSuite[] = ['0.1.16', '2025-11-25', '2026-07-28']

/**
 * The HTTP API fixture behind an `api` server: the tool scenarios an HTTP endpoint can express,
 * and the protocol scenarios that need no fixture tool (an `api` server has no resources,
 * prompts, logging, sampling or elicitation). Each under the suites that have it at that wire.
 */
export const API_SCENARIOS: Record<string, ApiSuite[]> = {
  'tools-list': ALL_SUITES,
  'tools-call-simple-text': ALL_SUITES,
  'tools-call-image': ALL_SUITES,
  'tools-call-audio': ALL_SUITES,
  'tools-call-error': ALL_SUITES,
  'server-initialize': ['0.1.16', '2025-11-25'],
  ping: ['0.1.16', '2025-11-25'],
  'server-session-lifecycle': ['2025-11-25'],
  'server-sse-multiple-streams': ALL_SUITES,
  'dns-rebinding-protection': ALL_SUITES
}

export function apiRuns (server: string): SuiteRun[] {
  const runs: SuiteRun[] = []
  for (const [scenario, suites] of Object.entries(API_SCENARIOS)) {
    for (const suite of suites) {
      runs.push(suite === '0.1.16'
        ? { id: `api/0.1.16/${scenario}`, version: '0.1.16', args: ['--scenario', scenario], server, expectedFailures: expected('api') }
        : { id: `api/0.2.0-alpha.12-${suite}/${scenario}`, version: '0.2.0-alpha.12', args: ['--scenario', scenario, '--spec-version', suite], server, expectedFailures: expected(`api-${suite}`) })
    }
  }
  return runs
}

/**
 * Scenarios a `--requirements` run executes but does not score (extensions, pending in the
 * referee, added after the revision shipped): the CLI reports them and ignores them in its
 * verdict, and so does the runner's count. Empty for runs without `--requirements`.
 */
export async function notScoredScenarios (run: SuiteRun): Promise<Set<string>> {
  const at = run.args.indexOf('--requirements')
  if (at === -1) return new Set()
  const file = `${root}node_modules/conformance-next/requirements/${run.args[at + 1]}.yaml`
  const requirements = parse(await readFile(file, 'utf8')) as { not_scored?: Array<{ scenario: string, leg: string }> }
  return new Set((requirements.not_scored ?? []).filter(entry => entry.leg === 'server').map(entry => entry.scenario))
}
