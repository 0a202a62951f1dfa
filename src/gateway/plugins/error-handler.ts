// Maps errors to replies once: coded ToolgateErrors keep their status, schema failures name the
// bad field, anything unexpected is a 500 whose details stay in the log.
import type { FastifyError, FastifyInstance } from 'fastify'
import { describeAjvErrors } from '../../config/ajv.ts'
import { ToolgateError } from '../../errors.ts'

export interface ErrorBody {
  error: { code: string, message: string, details?: unknown }
}

export function toErrorBody (err: FastifyError | ToolgateError | Error): { status: number, body: ErrorBody } {
  if (err instanceof ToolgateError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } }
    if (err.details !== undefined) body.error.details = err.details
    return { status: err.statusCode, body }
  }
  const fastifyError = err as FastifyError
  if (fastifyError.validation) {
    const problems = describeAjvErrors(fastifyError.validation as never, fastifyError.validationContext ?? '')
    return {
      status: 400,
      body: { error: { code: 'TG_ERR_VALIDATION', message: problems.map(p => `${p.path}: ${p.message}`).join('; '), details: problems } }
    }
  }
  const status = fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 600 ? fastifyError.statusCode : 500
  if (status < 500) return { status, body: { error: { code: fastifyError.code ?? 'TG_ERR_BAD_REQUEST', message: fastifyError.message } } }
  return { status, body: { error: { code: 'TG_ERR_INTERNAL', message: 'Internal error' } } }
}

export function registerErrorHandler (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, body } = toErrorBody(err)
    if (status >= 500) request.log.error({ err: { type: err.name, code: err.code, message: err.message, stack: err.stack } }, 'request failed')
    reply.status(status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: { code: 'TG_ERR_NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` } })
  })
}
