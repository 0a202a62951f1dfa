// Micro-benchmark of interceptor execution alone (no HTTP): a JMESPath and a JS response interceptor
// picking fields from an array of objects, on a ~1 KB and a ~1 MB JSON body, against the baseline of
// the JSON handling the gateway does anyway (JSON.parse + JSON.stringify of the same body), measured
// in the same run, in interleaved rounds. bench/interceptors.ts runs it; bench/run.ts can call it.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { DEFAULT_INTERCEPTOR_LIMITS, InterceptorRuntime, JsonPayload } from '../src/interceptors/index.ts'
import type { InterceptorContext } from '../src/interceptors/index.ts'
import { median, percentile } from './stats.ts'

export interface InterceptorMicroRow {
  body: string
  bytes: number
  variant: 'baseline' | 'jmespath' | 'js'
  runs: number
  medianUs: number
  p99Us: number
  /** Median minus the baseline's median (same body, same run). */
  addedUs: number
  /** Longest event-loop delay seen while the JS runs went on (ms); JS rows only. */
  loopMaxMs?: number
}

const JMESPATH = 'items[].{name: name, stars: stargazers_count, url: html_url}'
const JS = '(input) => input.items.map((r) => ({ name: r.name, stars: r.stargazers_count, url: r.html_url }))'

function body (count: number): string {
  return JSON.stringify({
    total_count: count,
    items: Array.from({ length: count }, (_, i) => ({
      id: 1000 + i, name: `repo-${i}`, full_name: `octo/repo-${i}`, private: i % 3 === 0,
      html_url: `https://github.com/octo/repo-${i}`, description: 'A repository used as a benchmark body', stargazers_count: i * 7, language: 'TypeScript'
    }))
  })
}

export async function runInterceptorMicroBench (options: { quick?: boolean } = {}): Promise<InterceptorMicroRow[]> {
  const quick = options.quick ?? false
  const runtime = new InterceptorRuntime({ warm: false })
  const limits = { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: 5000, memoryMb: 128, maxOutputBytes: 16 * 1024 * 1024 }
  const jmes = runtime.chain([{ label: 'bench.jmespath', engine: 'jmespath', phase: 'response', code: JMESPATH, limits }])
  const js = runtime.chain([{ label: 'bench.js', engine: 'js', phase: 'response', code: JS, limits }])
  const ctx: InterceptorContext = { server: 'bench', tool: 'list', arguments: {}, status: 200, headers: { 'content-type': 'application/json' }, endUserId: null }
  const sizes = [
    { name: '~1 KB', text: body(4), rounds: quick ? 5 : 15, perRound: quick ? 200 : 600 },
    { name: '~1 MB', text: body(4300), rounds: quick ? 3 : 6, perRound: quick ? 4 : 10 }
  ]
  const rows: InterceptorMicroRow[] = []
  try {
    for (const size of sizes) {
      const samples: Record<InterceptorMicroRow['variant'], number[]> = { baseline: [], jmespath: [], js: [] }
      // A fresh histogram for each JS round: one re-enabled after a pause counts the pause as a delay.
      let loopMaxMs = 0
      const variants: Record<InterceptorMicroRow['variant'], () => Promise<void> | void> = {
        baseline: () => { JSON.stringify(JSON.parse(size.text)) },
        jmespath: async () => { (await jmes.run(JsonPayload.ofText(size.text), ctx)).text() },
        js: async () => { (await js.run(JsonPayload.ofText(size.text), ctx)).text() }
      }
      // Warm-up: JIT on the host and in the isolate, the isolate itself.
      for (let i = 0; i < (size.perRound > 20 ? 200 : 3); i++) { await variants.baseline(); await variants.jmespath(); await variants.js() }
      const order: Array<InterceptorMicroRow['variant']> = ['baseline', 'jmespath', 'js']
      for (let round = 0; round < size.rounds; round++) {
        const rotated = [...order.slice(round % 3), ...order.slice(0, round % 3)]
        for (const variant of rotated) {
          const run = variants[variant]
          const histogram = variant === 'js' ? monitorEventLoopDelay({ resolution: 1 }) : undefined
          histogram?.enable()
          for (let i = 0; i < size.perRound; i++) {
            const t0 = performance.now()
            await run()
            samples[variant].push((performance.now() - t0) * 1000)
          }
          if (histogram !== undefined) {
            histogram.disable()
            loopMaxMs = Math.max(loopMaxMs, histogram.max / 1e6)
          }
        }
      }
      const base = median(samples.baseline)
      for (const variant of order) {
        const sorted = [...samples[variant]].sort((a, b) => a - b)
        const m = median(sorted)
        const row: InterceptorMicroRow = { body: size.name, bytes: Buffer.byteLength(size.text), variant, runs: sorted.length, medianUs: m, p99Us: percentile(sorted, 0.99), addedUs: m - base }
        if (variant === 'js') row.loopMaxMs = loopMaxMs
        rows.push(row)
      }
    }
  } finally {
    await runtime.close()
  }
  return rows
}

export function formatInterceptorMicroTable (rows: InterceptorMicroRow[]): string {
  const fmt = (us: number): string => us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`
  const lines = [
    'Interceptor execution alone (no HTTP), median and p99 per run; added = median − baseline (JSON.parse + JSON.stringify of the same body, same run)',
    `${'body'.padEnd(8)} ${'bytes'.padStart(9)}  ${'variant'.padEnd(9)} ${'runs'.padStart(6)} ${'median'.padStart(10)} ${'p99'.padStart(10)} ${'added'.padStart(10)}  loop max`
  ]
  for (const r of rows) {
    lines.push(`${r.body.padEnd(8)} ${String(r.bytes).padStart(9)}  ${r.variant.padEnd(9)} ${String(r.runs).padStart(6)} ${fmt(r.medianUs).padStart(10)} ${fmt(r.p99Us).padStart(10)} ${(r.variant === 'baseline' ? '—' : fmt(r.addedUs)).padStart(10)}  ${r.loopMaxMs === undefined ? '' : r.loopMaxMs.toFixed(1) + ' ms'}`)
  }
  return lines.join('\n')
}
