// One place that builds Ajv instances, so every validator (documents, request bodies, tool
// arguments) speaks the same JSON Schema dialect and error format.
import { Ajv, type ErrorObject, type Options } from 'ajv'
import addFormatsPlugin from 'ajv-formats'
import { joinKey, pointerToPath } from './paths.ts'

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv

export function createAjv (options: Options = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, ...options })
  addFormats(ajv)
  return ajv
}

export interface PathProblem {
  path: string
  message: string
}

/** Ajv errors → one readable problem per error, located by document path. */
export function describeAjvErrors (errors: ErrorObject[] | null | undefined, base = ''): PathProblem[] {
  const seen = new Set<string>()
  const problems: PathProblem[] = []
  for (const error of errors ?? []) {
    let path = pointerToPath(error.instancePath, base)
    let message = error.message ?? 'is invalid'
    if (error.keyword === 'required') {
      path = joinKey(path, (error.params as { missingProperty: string }).missingProperty)
      message = 'is required'
    } else if (error.keyword === 'additionalProperties') {
      path = joinKey(path, (error.params as { additionalProperty: string }).additionalProperty)
      message = 'is not a known property'
    } else if (error.keyword === 'enum') {
      message = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map(v => JSON.stringify(v)).join(', ')}`
    } else if (error.keyword === 'const') {
      message = `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`
    }
    const key = `${path}\u0000${message}`
    if (seen.has(key)) continue
    seen.add(key)
    problems.push({ path, message })
  }
  return problems
}
