// The expected-failures files (the conformance CLI's baseline format: `server:` list of
// `<scenario>` or, for 0.2.x, `<scenario>:<check-id>`), read for counting, and checked for a
// reason: every entry must sit under a comment that names the spec clause it is about, so a
// reviewer sees why each failure is accepted.
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import type { ScenarioResult } from './run-suite.ts'

export const EXPECTED_FAILURES_DIR = fileURLToPath(new URL('./expected-failures/', import.meta.url))

/** scenario → 'all' (whole scenario listed) or the check ids listed for it. */
export type ExpectedFailures = Map<string, 'all' | Set<string>>

export async function readExpectedFailures (path: string): Promise<ExpectedFailures> {
  const document = parse(await readFile(path, 'utf8')) as { server?: unknown } | null
  const entries = Array.isArray(document?.server) ? document.server.map(String) : []
  const expected: ExpectedFailures = new Map()
  for (const entry of entries) {
    const colon = entry.indexOf(':')
    if (colon === -1) {
      expected.set(entry, 'all')
      continue
    }
    const scenario = entry.slice(0, colon)
    const known = expected.get(scenario)
    const checks = known instanceof Set ? known : new Set<string>()
    checks.add(entry.slice(colon + 1))
    if (known !== 'all') expected.set(scenario, checks)
  }
  return expected
}

/** True when every failing check of the scenario is excused by the baseline. */
export function isExpected (result: ScenarioResult, expected: ExpectedFailures): boolean {
  const listed = expected.get(result.scenario)
  if (listed === undefined) return false
  if (listed === 'all') return true
  return result.checks.filter(c => c.status === 'FAILURE' || c.status === 'WARNING').every(c => listed.has(c.id))
}

// A reason names the clause: a spec URL, or "spec"/"§" followed by where.
const NAMES_A_CLAUSE = /modelcontextprotocol\.io\/specification\/|\bspec(ification)?\b.*\d{4}-\d{2}-\d{2}|§|\bSEP-\d+/i

/** Problems with the files' reasons, one line each; empty when every entry has one. */
export async function checkExpectedFailureReasons (dir = EXPECTED_FAILURES_DIR): Promise<string[]> {
  const problems: string[] = []
  for (const name of (await readdir(dir)).filter(n => n.endsWith('.yaml')).sort()) {
    const lines = (await readFile(`${dir}${name}`, 'utf8')).split('\n')
    lines.forEach((line, index) => {
      const item = /^\s*-\s*(\S+)/.exec(line)
      if (!item) return
      // The comment block right above the entry (several entries may share one).
      const comment: string[] = []
      for (let i = index - 1; i >= 0; i--) {
        const above = lines[i]!.trim()
        if (above.startsWith('#')) comment.unshift(above)
        else if (/^-\s*\S+/.test(above) && comment.length === 0) continue
        else break
      }
      if (!NAMES_A_CLAUSE.test(comment.join(' '))) problems.push(`${name}: "${item[1]}" has no reason naming a spec clause in the comment above it`)
    })
  }
  return problems
}
