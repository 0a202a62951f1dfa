// Interceptors as the config document writes them (`{ jmespath: "…" }` / `{ js: "…" }` under a
// tool's or server's `request` / `response`) → the sources the interceptor runtime compiles, and
// the checks that need more than the JSON Schema: one engine each, limits only where they apply,
// syntax with line and column.
import type { ConfigProblem } from '../errors.ts'
import { checkInterceptorSource, DEFAULT_INTERCEPTOR_LIMITS, INTERCEPTOR_PHASES, type InterceptorEngine, type InterceptorPhase, type InterceptorSource } from '../interceptors/index.ts'
import type { InterceptorChainsDoc, InterceptorDoc } from './document.ts'

function engineOf (doc: InterceptorDoc): { engine: InterceptorEngine, code: string } | undefined {
  if (doc.jmespath !== undefined && doc.js === undefined) return { engine: 'jmespath', code: doc.jmespath }
  if (doc.js !== undefined && doc.jmespath === undefined) return { engine: 'js', code: doc.js }
  return undefined
}

/** The chain of one phase as runtime sources. Assumes a document that passed checkInterceptors. */
export function interceptorSources (chain: InterceptorDoc[] | undefined, at: string, phase: InterceptorPhase): InterceptorSource[] {
  return (chain ?? []).map((doc, i) => {
    const { engine, code } = engineOf(doc)!
    const source: InterceptorSource = {
      label: `${at}.${phase}[${i}]`,
      engine,
      phase,
      code,
      limits: {
        timeoutMs: doc.timeoutMs ?? DEFAULT_INTERCEPTOR_LIMITS.timeoutMs,
        memoryMb: doc.memoryMb ?? DEFAULT_INTERCEPTOR_LIMITS.memoryMb,
        maxOutputBytes: doc.maxOutputBytes ?? DEFAULT_INTERCEPTOR_LIMITS.maxOutputBytes
      }
    }
    if (doc.name !== undefined) source.name = doc.name
    return source
  })
}

/** Problems with the interceptors of a tool or server at `at` (e.g. `servers[0].tools[1]`). */
export function checkInterceptors (owner: InterceptorChainsDoc, at: string, problems: ConfigProblem[]): void {
  for (const phase of INTERCEPTOR_PHASES) {
    const names = new Map<string, number>()
    ;(owner[phase] ?? []).forEach((doc, i) => {
      const where = `${at}.${phase}[${i}]`
      const chosen = engineOf(doc)
      if (!chosen) {
        problems.push({ path: where, message: 'needs exactly one of "jmespath" (an expression) or "js" (a function)' })
        return
      }
      if (chosen.engine === 'jmespath') {
        for (const field of ['timeoutMs', 'memoryMb'] as const) {
          if (doc[field] !== undefined) problems.push({ path: `${where}.${field}`, message: 'applies to js interceptors only (JMESPath runs without a sandbox)' })
        }
      }
      if (doc.name !== undefined) {
        const first = names.get(doc.name)
        if (first !== undefined) problems.push({ path: `${where}.name`, message: `duplicate interceptor name "${doc.name}" (first at ${at}.${phase}[${first}])` })
        else names.set(doc.name, i)
      }
      const syntax = checkInterceptorSource(chosen)
      if (syntax) {
        const position = syntax.line !== undefined ? `line ${syntax.line}${syntax.column !== undefined ? `, column ${syntax.column}` : ''}: ` : ''
        problems.push({ path: `${where}.${chosen.engine}`, message: `${position}${syntax.message}` })
      }
    })
  }
}
