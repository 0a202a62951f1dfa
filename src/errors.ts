// Coded errors, in the style of Fastify's FST_ERR_*: one class, a stable code, an HTTP status.
// Routes map them to replies once (gateway/plugins/error-handler.ts); nothing else inspects messages.

export class ToolgateError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly details: unknown

  constructor (code: string, statusCode: number, message: string, details?: unknown) {
    super(message)
    this.name = 'ToolgateError'
    this.code = code
    this.statusCode = statusCode
    this.details = details
  }
}

/** One problem in a config document, located by its path (`servers[0].tools[2].path`). */
export interface ConfigProblem {
  path: string
  message: string
}

export class ConfigInvalidError extends ToolgateError {
  readonly problems: ConfigProblem[]
  constructor (problems: ConfigProblem[]) {
    super('TG_ERR_CONFIG_INVALID', 400,
      'Invalid config document:\n' + problems.map(p => `  ${p.path || '(document)'}: ${p.message}`).join('\n'),
      problems)
    this.problems = problems
  }
}

export const notFound = (what: string) => new ToolgateError('TG_ERR_NOT_FOUND', 404, `${what} not found`)
export const conflict = (what: string) => new ToolgateError('TG_ERR_CONFLICT', 409, `${what} already exists`)
export const unauthorized = (message = 'Missing or invalid credentials') => new ToolgateError('TG_ERR_UNAUTHORIZED', 401, message)
export const forbidden = (message: string) => new ToolgateError('TG_ERR_FORBIDDEN', 403, message)
export const badRequest = (message: string) => new ToolgateError('TG_ERR_BAD_REQUEST', 400, message)

/** A config edit raced with another apply (optimistic concurrency on the config version). */
export class StaleVersionError extends ToolgateError {
  constructor () {
    super('TG_ERR_CONFLICT', 409, 'The config changed while this edit was being applied; try again')
  }
}
