// Apply-time syntax checks: synchronous, cheap, nothing executed.
import vm from 'node:vm'
import { parseJmes } from './jmespath.ts'
import { INTERCEPTOR_FILENAME } from './sandbox-prelude.ts'
import type { InterceptorEngine } from './types.ts'

export interface InterceptorSyntaxProblem { message: string, line?: number, column?: number }

/**
 * The operator's JS expression inside the function that evaluates it anew for each call (js.ts).
 * The wrapper takes line 0 and its closing line: compiled with lineOffset -1, V8's line numbers are
 * the operator's own (line 1 = first line of `code`), and columns too (the code starts each line).
 */
export function wrapJs (code: string): string {
  return '(function () { return (\n' + code + '\n) })'
}
export const JS_LINE_OFFSET = -1

function checkJs (code: string): InterceptorSyntaxProblem | undefined {
  try {
    // Compiles, runs nothing.
    new vm.Script(wrapJs(code), { filename: INTERCEPTOR_FILENAME, lineOffset: JS_LINE_OFFSET })
    return undefined
  } catch (err) {
    if (!(err instanceof SyntaxError)) return { message: err instanceof Error ? err.message : String(err) }
    return { message: err.message, ...syntaxPosition(code, err) }
  }
}

/** Node puts `file:LINE\n<source line>\n   ^^^` at the top of a SyntaxError's stack. */
function syntaxPosition (code: string, err: SyntaxError): { line?: number, column?: number } {
  const lines = String(err.stack ?? '').split('\n')
  const m = /^interceptor\.js:(\d+)$/.exec(lines[0] ?? '')
  if (!m) return {}
  const userLines = code.split('\n')
  let line = Number(m[1])
  const caret = (lines[2] ?? '').indexOf('^')
  let column = caret >= 0 ? caret + 1 : undefined
  if (line < 1) { line = 1; column = 1 }
  if (line > userLines.length) {
    // The error is on the wrapper's closing line: the code ended too early.
    line = userLines.length
    column = (userLines[line - 1] ?? '').length + 1
  }
  return column === undefined ? { line } : { line, column }
}

export function checkInterceptorSource (source: { engine: InterceptorEngine, code: string }): InterceptorSyntaxProblem | undefined {
  if (typeof source.code !== 'string') return { message: 'code must be a string' }
  if (source.engine === 'jmespath') {
    const parsed = parseJmes(source.code)
    return 'error' in parsed ? { message: parsed.error.message, line: parsed.error.line, column: parsed.error.column } : undefined
  }
  if (source.engine === 'js') {
    if (source.code.trim() === '') return { message: 'code is empty; it must be an expression that evaluates to a function' }
    return checkJs(source.code)
  }
  return { message: `unknown engine ${JSON.stringify(source.engine)}` }
}
