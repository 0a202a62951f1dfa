// A document that cannot be imported: every problem with its place in the document.
import { ToolgateError } from '../errors.ts'

export interface OpenApiProblem {
  /** Where in the OpenAPI document (`paths["/pets"].get.parameters[0].in`), or `line 3, column 1`. */
  path: string
  message: string
}

export class OpenApiError extends ToolgateError {
  readonly problems: OpenApiProblem[]
  constructor (problems: OpenApiProblem[], statusCode = 400) {
    super('TG_ERR_OPENAPI_INVALID', statusCode,
      'OpenAPI document cannot be imported:\n' + problems.map(p => `  ${p.path}: ${p.message}`).join('\n'),
      problems)
    this.name = 'OpenApiError'
    this.problems = problems
  }
}
