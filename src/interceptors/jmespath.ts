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

/**
 * About how long `value` is as JSON text, counted by a walk that stops as soon as the count passes
 * `max` (the count returned is then just over `max`). JMESPath builds outputs from references into its input, so a short
 * expression (`[[@, @], [@, @]]` nested) can describe a value whose text is exponentially large:
 * stringifying it to measure would be the stall itself. Strings count their UTF-16 length (their
 * UTF-8 size is checked exactly by the caller when it could matter); numbers and punctuation are
 * counted as they print.
 */
export function jsonTextLength (value: unknown, max: number): number {
  let total = 0
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const item = stack.pop()
    if (item === null || item === undefined) total += 4
    else if (typeof item === 'string') total += item.length + 2
    else if (typeof item === 'number') total += String(item).length
    else if (typeof item === 'boolean') total += 5
    else if (Array.isArray(item)) {
      total += 2 + item.length
      for (let i = item.length - 1; i >= 0; i--) stack.push(item[i])
    } else if (typeof item === 'object') {
      const record = item as Record<string, unknown>
      for (const key in record) {
        total += key.length + 4
        stack.push(record[key])
      }
      total += 2
    }
    if (total > max) return total
  }
  return total
}
