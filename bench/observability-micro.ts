// Micro-benchmark of what telemetry and the live debug console add to one tool call, in this
// process, without HTTP: the exact calls routes/mcp.ts makes per call, on the real classes.
// - telemetry: GatewayMetrics.request + toolCall (prom-client children) and recordCall into a
//   UsageRecorder (never flushed here);
// - debug, no subscriber: the check a call makes (tools/call? hasSubscribers?), which is all it
//   does while nobody watches;
// - debug, subscriber: a whole trace — four events (MCP request, upstream request and response,
//   result) built, serialised and handed to a sink that keeps them — for the bench's 500-byte call.
// Each is timed over batches of calls, interleaved in every round, minus an empty loop. End to end
// the same costs are drowned in machine noise; here they are resolved to a tenth of a µs.
import { DebugBus } from '../src/telemetry/debug-bus.ts'
import { GatewayMetrics } from '../src/telemetry/metrics.ts'
import { recordCall, UsageRecorder } from '../src/telemetry/usage.ts'
import type { Db } from '../src/db/index.ts'
import type { CompiledServer, CompiledTool } from '../src/tools/compiled.ts'
import type { CallOutcome } from '../src/tools/execute.ts'
import { median } from './stats.ts'

export interface ObservabilityMicroRow {
  variant: 'telemetry' | 'debug, no subscriber' | 'debug, subscriber'
  /** Median µs per call over the rounds, minus the empty loop's. */
  addedUs: number
  rounds: number
  callsPerRound: number
}

export async function runObservabilityMicroBench (options: { quick?: boolean } = {}): Promise<ObservabilityMicroRow[]> {
  const rounds = options.quick ? 20 : 100
  const batch = 2000
  const tool = { name: 'get_record', serverName: 'bench', method: 'GET', origin: 'http://127.0.0.1:9', maxResponseBytes: 10 * 1024 * 1024 } as unknown as CompiledTool
  const server: CompiledServer = { name: 'bench', tools: new Map([['get_record', tool]]), toolList: [tool] }
  const watched: CompiledServer = { ...server, name: 'watched' }

  const metrics = new GatewayMetrics({}, { defaultMetrics: false })
  const usage = new UsageRecorder({ db: {} as Db, workspaceId: 'bench', flushMs: 0 })
  const body = Buffer.from(JSON.stringify({ error: 'status 200', detail: 'x'.repeat(466) }))
  const outcome: CallOutcome = { result: { content: [{ type: 'text', text: body.toString() }] }, upstreamStatus: 200, upstreamBytes: body.length, upstreamMs: 0.4 }
  const call = { tool: 'get_record', outcome }

  const bus = new DebugBus({ maxBodyBytes: 64 * 1024 })
  let kept = 0
  bus.subscribe('watched', { deliver: frame => { kept += frame.length } })
  const upstreamHeaders = { 'content-type': 'application/json', 'content-length': '500', date: 'Thu, 01 Jan 2026 00:00:00 GMT', connection: 'keep-alive', 'keep-alive': 'timeout=30' }
  const requestHeaders = { accept: 'application/json', 'user-agent': 'toolgate' }
  const params = { name: 'get_record', arguments: { code: '200', pad: 466 } }
  const method: string = 'tools/call'

  const variants: Record<ObservabilityMicroRow['variant'] | 'empty', () => void> = {
    empty: () => {},
    telemetry: () => {
      metrics.request('mcp', 200)
      metrics.toolCall(server, 'get_record', 0.0004, false, outcome)
      recordCall(usage, 'bench', 'end-user', call, 0.4, undefined, outcome.result)
    },
    'debug, no subscriber': () => {
      const trace = method === 'tools/call' && bus.hasSubscribers(server.name) ? bus.startCall(server, 'get_record', { endUserId: 'u', apiKeyId: 'k' }) : undefined
      trace?.mcpRequest(method, '2025-11-25', params)
      trace?.upstreamRequest(tool, '/status/200?pad=466', requestHeaders, undefined)
      trace?.upstreamResponse(tool, 200, upstreamHeaders, body, body.length, 0.4)
      trace?.finish({ result: outcome.result, upstreamStatus: 200 })
    },
    'debug, subscriber': () => {
      const trace = method === 'tools/call' && bus.hasSubscribers(watched.name) ? bus.startCall(watched, 'get_record', { endUserId: 'u', apiKeyId: 'k', sessionId: 's' }) : undefined
      trace?.mcpRequest(method, '2025-11-25', params)
      trace?.upstreamRequest(tool, '/status/200?pad=466', requestHeaders, undefined)
      trace?.upstreamResponse(tool, 200, upstreamHeaders, body, body.length, 0.4)
      trace?.finish({ result: outcome.result, upstreamStatus: 200 })
    }
  }
  const names = Object.keys(variants) as Array<keyof typeof variants>
  const times = new Map(names.map(name => [name, [] as number[]]))
  // Warm-up: every path compiled before anything is timed.
  for (const name of names) for (let i = 0; i < batch * 5; i++) variants[name]()
  for (let round = 0; round < rounds; round++) {
    const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)]
    for (const name of order) {
      const run = variants[name]
      const started = performance.now()
      for (let i = 0; i < batch; i++) run()
      times.get(name)!.push((performance.now() - started) * 1000 / batch)
    }
  }
  if (kept === 0) throw new Error('the subscribed variant delivered nothing')
  if (bus.stats.callsTraced !== (rounds + 5) * batch) throw new Error(`expected only the subscribed variant to be traced, got ${bus.stats.callsTraced} traces`)
  const empty = median(times.get('empty')!)
  return (['telemetry', 'debug, no subscriber', 'debug, subscriber'] as const).map(variant => ({
    variant, addedUs: median(times.get(variant)!) - empty, rounds, callsPerRound: batch
  }))
}

export function formatObservabilityMicro (rows: ObservabilityMicroRow[], gatewayUsPerCall?: number): string {
  return rows.map(row => {
    const share = gatewayUsPerCall && Number.isFinite(gatewayUsPerCall) ? ` = ${(row.addedUs / gatewayUsPerCall * 100).toFixed(2)}% of the gateway's ${Math.round(gatewayUsPerCall)} µs CPU per call` : ''
    return `  ${row.variant.padEnd(22)} ${row.addedUs.toFixed(2).padStart(7)} µs per call${share}`
  }).join('\n')
}
