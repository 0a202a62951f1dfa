import { ToolgateError } from '../errors.ts'
import type { InterceptorFailureKind } from './types.ts'

export interface InterceptorFailureInit {
  /** The operator's name for the interceptor, if any. */
  name?: string | undefined
  /** Where it was declared (`servers[0].tools[1].response[0]`). */
  label: string
  kind: InterceptorFailureKind
  /** What went wrong, without the interceptor's name (that is prefixed here). */
  detail: string
  line?: number | undefined
  column?: number | undefined
}

/** How an interceptor is named in messages: `Interceptor "trim" (servers[0]…)` or `Interceptor servers[0]…`. */
export function interceptorTitle (name: string | undefined, label: string): string {
  return name ? `Interceptor "${name}" (${label})` : `Interceptor ${label}`
}

/**
 * A failed interceptor run (or compile). The message can quote payload data (an operator's
 * `throw new Error(JSON.stringify(input))`), so logs take logFields() only, never the message.
 */
export class InterceptorFailure extends ToolgateError {
  readonly interceptor: string
  readonly label: string
  readonly kind: InterceptorFailureKind
  readonly line?: number
  readonly column?: number

  constructor (init: InterceptorFailureInit) {
    super('TG_ERR_INTERCEPTOR', 422, `${interceptorTitle(init.name, init.label)} ${init.detail}`,
      { kind: init.kind, line: init.line, column: init.column })
    this.name = 'InterceptorFailure'
    this.interceptor = init.name ?? init.label
    this.label = init.label
    this.kind = init.kind
    if (init.line !== undefined) this.line = init.line
    if (init.column !== undefined) this.column = init.column
  }

  /** Safe for logs: ids and words only, no message (it may contain payload data). */
  logFields (): { interceptor: string, label: string, kind: InterceptorFailureKind, line?: number, column?: number } {
    const fields: { interceptor: string, label: string, kind: InterceptorFailureKind, line?: number, column?: number } =
      { interceptor: this.interceptor, label: this.label, kind: this.kind }
    if (this.line !== undefined) fields.line = this.line
    if (this.column !== undefined) fields.column = this.column
    return fields
  }
}

/** `at line 3, column 7` (or `at line 3`, or nothing). */
export function atPosition (line?: number, column?: number): string {
  if (line === undefined) return ''
  return column === undefined ? ` at line ${line}` : ` at line ${line}, column ${column}`
}
