// The load generator: a closed loop of `concurrency` workers over one undici Pool, each sending a
// request, reading the whole response, recording its latency, and going again. A round stops
// issuing at its deadline or its request cap, whichever comes first; requests in flight finish.
import { Pool } from 'undici'
import { percentile } from './stats.ts'

export interface RequestSpec {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
  /** Returns a problem description when a response is not the expected one. */
  check (status: number, text: string): string | undefined
}

export interface RoundOptions {
  concurrency: number
  durationMs: number
  maxRequests: number
}

export interface RoundResult {
  concurrency: number
  ok: number
  errors: number
  firstError?: string
  elapsedMs: number
  rps: number
  p50: number
  p99: number
  max: number
}

/** Per-request time bound: a wedged target fails the round instead of hanging the run. */
const REQUEST_TIMEOUT_MS = 10_000

export class LoadClient {
  readonly pool: Pool
  private readonly spec: RequestSpec
  private latencies = new Float64Array(0)

  constructor (origin: string, spec: RequestSpec, maxConnections: number) {
    this.spec = spec
    this.pool = new Pool(origin, {
      connections: maxConnections,
      pipelining: 1,
      // Keep client connections across the gaps while other targets run.
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS
    })
  }

  async round (options: RoundOptions): Promise<RoundResult> {
    const { concurrency, durationMs, maxRequests } = options
    if (this.latencies.length < maxRequests) this.latencies = new Float64Array(maxRequests)
    const latencies = this.latencies
    const { method, path, headers, body, check } = this.spec
    const pool = this.pool
    let issued = 0
    let ok = 0
    let errors = 0
    let firstError: string | undefined
    const started = performance.now()
    const deadline = started + durationMs

    const worker = async () => {
      while (issued < maxRequests && performance.now() < deadline) {
        issued++
        const t0 = performance.now()
        try {
          const response = await pool.request({ method, path, headers, body })
          const text = await response.body.text()
          const t1 = performance.now()
          const problem = check(response.statusCode, text)
          if (problem === undefined) latencies[ok++] = t1 - t0
          else {
            errors++
            firstError ??= problem
          }
        } catch (err) {
          errors++
          firstError ??= (err as Error).message
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    const elapsedMs = performance.now() - started
    const sorted = latencies.slice(0, ok).sort()
    const result: RoundResult = {
      concurrency,
      ok,
      errors,
      elapsedMs,
      rps: ok / (elapsedMs / 1000),
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: ok > 0 ? sorted[ok - 1]! : Number.NaN
    }
    if (firstError !== undefined) result.firstError = firstError
    return result
  }

  async close (): Promise<void> {
    await this.pool.close()
  }
}
