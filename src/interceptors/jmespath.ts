// The JMESPath engine: an expression is compiled to an AST once (ASTs cached by expression text, so
// every chain and config version that uses the same expression shares one), then each call walks that
// AST over the parsed input. The package's errors carry no position; locate() finds it.
import { compile, tokenize, TreeInterpreter } from '@jmespath-community/jmespath'
import type { JSONValue } from '@jmespath-community/jmespath'

export type JmesAst = ReturnType<typeof compile>

export interface JmesSyntaxError { message: string, line: number, column: number, offset: number }

/** Offset → 1-based line and column (expressions may span lines in a YAML block). */
export function lineColumn (text: string, offset: number): { line: number, column: number } {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1 }
  }
  return { line, column: offset - lineStart + 1 }
}

const errorMessage = (err: unknown): string => err instanceof Error ? err.message : String(err)
const failsOtherThanAtEnd = (text: string): boolean => {
  try { compile(text); return false } catch (err) { return !/\bEOF\b/.test(errorMessage(err)) }
}

/** Where a syntax error is, as an offset: the lexer's failing character or the parser's failing token. */
function locate (expression: string, err: unknown): number {
  if (expression.length > 8192) return expression.length
  if (err instanceof Error && err.name === 'LexerError') {
    // The shortest prefix the lexer refuses ends at the offending character (or at the opening quote
    // of an unterminated literal).
    for (let n = 1; n <= expression.length; n++) {
      try { tokenize(expression.slice(0, n)) } catch { return n - 1 }
    }
    return expression.length
  }
  let tokens: ReturnType<typeof tokenize>
  try { tokens = tokenize(expression) } catch { return expression.length }
  // The parser fails at the first token k such that the text up to and including k already fails for a
  // reason other than "ran out of input".
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]
    if (token === undefined) break
    const end = tokens[k + 1]?.start ?? expression.length
    if (failsOtherThanAtEnd(expression.slice(0, end))) return token.start
  }
  return expression.length
}

/** Compile or explain why not. */
export function parseJmes (expression: string): { ast: JmesAst } | { error: JmesSyntaxError } {
  try {
    return { ast: compile(expression) }
  } catch (err) {
    const offset = locate(expression, err)
    const { line, column } = lineColumn(expression, offset)
    return { error: { message: errorMessage(err), line, column, offset } }
  }
}

/** ASTs by expression text, bounded (least recently compiled first out); retain() prunes it too. */
export class JmesAstCache {
  readonly #asts = new Map<string, JmesAst>()
  readonly #max: number
  constructor (max = 4096) { this.#max = max }

  get (expression: string): { ast: JmesAst } | { error: JmesSyntaxError } {
    const hit = this.#asts.get(expression)
    if (hit !== undefined) return { ast: hit }
    const parsed = parseJmes(expression)
    if ('ast' in parsed) {
      if (this.#asts.size >= this.#max) {
        const oldest = this.#asts.keys().next().value
        if (oldest !== undefined) this.#asts.delete(oldest)
      }
      this.#asts.set(expression, parsed.ast)
    }
    return parsed
  }

  keep (expressions: Set<string>): void {
    for (const key of this.#asts.keys()) if (!expressions.has(key)) this.#asts.delete(key)
  }

  get size (): number { return this.#asts.size }
}

/** One evaluation; throws the package's Error on runtime errors (invalid-type and the like). */
export function searchJmes (ast: JmesAst, value: unknown): unknown {
  return TreeInterpreter.search(ast, value as JSONValue)
}
