// The dry-run tester behind POST /api/v1/interceptors/test: compile, run once on a sample, report.
// Nothing piles up: the compiled state lives for this one run (a JS isolate is disposed right after,
// and counts in the runtime's maxIsolates while it lives).
import { InterceptorFailure } from './errors.ts'
import { JsonPayload } from './payload.ts'
import type { InterceptorRuntime } from './runtime.ts'
import { DEFAULT_INTERCEPTOR_LIMITS } from './types.ts'
import type { InterceptorContext, InterceptorEngine, InterceptorFailureKind, InterceptorLimits, InterceptorPhase } from './types.ts'

export interface InterceptorTestRequest {
  engine: InterceptorEngine
  phase: InterceptorPhase
  code: string
  input: unknown
  ctx?: Partial<InterceptorContext>
  limits?: Partial<InterceptorLimits>
  name?: string
}

export interface InterceptorTestReport {
  ok: boolean
  output?: unknown
  error?: { kind: InterceptorFailureKind, message: string, line?: number, column?: number }
  /** UTF-8 bytes of the input's JSON text. */
  bytesBefore: number
  /** UTF-8 bytes of the output's JSON text (when ok). */
  bytesAfter?: number
  /** Compile and run, wall time. */
  durationMs: number
}

export async function testInterceptor (runtime: InterceptorRuntime, request: InterceptorTestRequest): Promise<InterceptorTestReport> {
  const input = JsonPayload.ofValue(request.input)
  const bytesBefore = input.byteLength()
  const limits: InterceptorLimits = { ...DEFAULT_INTERCEPTOR_LIMITS, ...definedOnly(request.limits ?? {}) }
  const c = request.ctx ?? {}
  const ctx: InterceptorContext = {
    server: c.server ?? 'test',
    tool: c.tool ?? 'test',
    arguments: c.arguments ?? (request.phase === 'request' && isObject(request.input) ? request.input : {}),
    endUserId: c.endUserId ?? null
  }
  if (c.status !== undefined) ctx.status = c.status
  if (c.headers !== undefined) ctx.headers = c.headers
  const started = performance.now()
  let detached: ReturnType<InterceptorRuntime['detached']> | undefined
  try {
    const source = { label: '(dry run)', engine: request.engine, phase: request.phase, code: request.code, limits }
    detached = runtime.detached(request.name === undefined ? source : { ...source, name: request.name })
    const output = await detached.interceptor.run(input, ctx)
    const value = output.value()
    return { ok: true, output: value, bytesBefore, bytesAfter: output.byteLength(), durationMs: performance.now() - started }
  } catch (err) {
    const failure = err instanceof InterceptorFailure ? err : undefined
    const error: NonNullable<InterceptorTestReport['error']> = {
      kind: failure?.kind ?? 'runtime',
      message: err instanceof Error ? err.message : String(err)
    }
    if (failure?.line !== undefined) error.line = failure.line
    if (failure?.column !== undefined) error.column = failure.column
    return { ok: false, error, bytesBefore, durationMs: performance.now() - started }
  } finally {
    detached?.dispose()
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
function definedOnly<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
