// The interceptor contract: what the config compiles into and what a tool call runs. The engines
// (jmespath.ts, js sandbox) implement it; tools/ and mcp/ only see these types and index.ts.

export const INTERCEPTOR_ENGINES = ['jmespath', 'js'] as const
export type InterceptorEngine = typeof INTERCEPTOR_ENGINES[number]
export const INTERCEPTOR_PHASES = ['request', 'response'] as const
export type InterceptorPhase = typeof INTERCEPTOR_PHASES[number]

export interface InterceptorLimits {
  /** Wall time of one JS run, promise jobs included. */
  timeoutMs: number
  /** Heap limit of each isolate that runs this interceptor, MiB (isolated-vm's floor is 8). */
  memoryMb: number
  /** Largest output, counted as bytes of its JSON text. */
  maxOutputBytes: number
}

export const DEFAULT_INTERCEPTOR_LIMITS: InterceptorLimits = Object.freeze({
  timeoutMs: 100,
  memoryMb: 64,
  maxOutputBytes: 4 * 1024 * 1024
})

/** One interceptor as declared, ready to compile. */
export interface InterceptorSource {
  /** Where it was declared, e.g. `servers[0].tools[1].response[0]`: in every error about it. */
  label: string
  /** The operator's name for it; errors use it before the label. */
  name?: string
  engine: InterceptorEngine
  phase: InterceptorPhase
  /** A JMESPath expression, or JS source that evaluates to a function `(input, ctx) => output`. */
  code: string
  limits: InterceptorLimits
}

/** What an interceptor may know about the call besides its input. A copy: changing it changes nothing. */
export interface InterceptorContext {
  server: string
  tool: string
  /** The validated arguments (request phase: before any request interceptor rewrote them). */
  arguments: Record<string, unknown>
  /** Response phase, api tools: the upstream HTTP status. */
  status?: number
  /** Response phase, api tools: upstream response headers, lower-case names, credentials redacted. */
  headers?: Record<string, string>
  /** The calling end user's id (null for a principal without one). */
  endUserId: string | null
}

/** Why a run failed, as a stable word. `syntax` only comes from checks at apply time. */
export type InterceptorFailureKind =
  | 'syntax' | 'runtime' | 'timeout' | 'memory' | 'output_too_large' | 'not_json' | 'bad_output'
