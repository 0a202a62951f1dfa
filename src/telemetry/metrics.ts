// Prometheus metrics (prom-client), on a registry of this app's own (tests run several gateways
// in one process). Labels are bounded: route kinds, status classes, budget names, failure kinds,
// and server/tool names of the compiled config only. A tool name a client sends that the config
// does not have is counted under OTHER_TOOL, never as itself. No label ever holds an address,
// an argument or a body (DESIGN promises 1 and 4).
//
// The hot path only increments pre-resolved children: request series are built up front, tool
// series once per compiled server and tool name (a WeakMap on the compiled server, so a new config
// version starts fresh and the old one is collected with its snapshot).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { InterceptorRuntime } from '../interceptors/index.ts'
import type { CallOutcome } from '../tools/execute.ts'
import type { CompiledServer } from '../tools/compiled.ts'
import type { UpstreamPools } from '../tools/pools.ts'

export const OTHER_TOOL = '_other'
export const RATE_BUDGETS = ['mcp', 'api', 'oauth'] as const
const ROUTE_KINDS = ['mcp', 'api', 'other'] as const
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
const UPSTREAM_ERROR_KINDS = new Set<string>(['upstream_status', 'timeout', 'too_large', 'unreachable'])
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

type RouteKind = typeof ROUTE_KINDS[number]
type Inc = { inc (value?: number): void }
type Observe = { observe (value: number): void }

interface ToolSeries {
  calls: Inc
  errors: Inc
  latency: Observe
  upstreamErrors: Map<string, Inc>
}

export interface MetricsSources {
  interceptors?: InterceptorRuntime
  pools?: UpstreamPools
  /** Upstream MCP session count by status. */
  upstreamSessions?: () => Map<string, number>
  /** The live debug console: local subscribers, events built, frames dropped for slow subscribers. */
  debug?: () => { subscribers: number, eventsBuilt: number, dropped: number }
}

export interface MetricsOptions {
  /** Node process metrics (event loop, heap, GC) too; default true. */
  defaultMetrics?: boolean
}

export class GatewayMetrics {
  readonly registry = new Registry()
  readonly #requests: Inc[][]
  readonly #rateLimited = new Map<string, Inc>()
  readonly #toolCalls: Counter<'server' | 'tool'>
  readonly #toolErrors: Counter<'server' | 'tool'>
  readonly #toolLatency: Histogram<'server' | 'tool'>
  readonly #upstreamErrors: Counter<'server' | 'kind'>
  readonly #series = new WeakMap<CompiledServer, Map<string, ToolSeries>>()

  constructor (sources: MetricsSources, options: MetricsOptions = {}) {
    const registers = [this.registry]
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })

    const requests = new Counter({ name: 'toolgate_http_requests_total', help: 'HTTP requests answered, by route kind and status class', labelNames: ['kind', 'status'] as const, registers })
    this.#requests = ROUTE_KINDS.map(kind => STATUS_CLASSES.map(status => requests.labels(kind, status)))

    const rateLimited = new Counter({ name: 'toolgate_rate_limit_rejections_total', help: 'Requests refused with 429 by a rate-limit budget', labelNames: ['budget'] as const, registers })
    for (const budget of RATE_BUDGETS) {
      const child = rateLimited.labels(budget)
      child.inc(0) // shown at 0 from the start, so a rate() has a baseline
      this.#rateLimited.set(budget, child)
    }

    this.#toolCalls = new Counter({ name: 'toolgate_tool_calls_total', help: `tools/call requests, by server and configured tool (${OTHER_TOOL}: a name the config does not have)`, labelNames: ['server', 'tool'] as const, registers })
    this.#toolErrors = new Counter({ name: 'toolgate_tool_call_errors_total', help: 'tools/call requests that ended in an error (JSON-RPC error or isError result)', labelNames: ['server', 'tool'] as const, registers })
    this.#toolLatency = new Histogram({ name: 'toolgate_tool_call_duration_seconds', help: 'Time to answer a tools/call, in seconds', labelNames: ['server', 'tool'] as const, buckets: LATENCY_BUCKETS, registers })
    this.#upstreamErrors = new Counter({ name: 'toolgate_upstream_errors_total', help: 'Failed upstream exchanges of tool calls, by kind (upstream_status, timeout, too_large, unreachable)', labelNames: ['server', 'kind'] as const, registers })

    const { interceptors, pools, upstreamSessions, debug } = sources
    if (interceptors) {
      new Counter({
        name: 'toolgate_interceptor_failures_total',
        help: 'Interceptor (JMESPath or sandboxed JS) failures, by kind',
        labelNames: ['kind'] as const,
        registers,
        collect () {
          this.reset()
          for (const [kind, count] of Object.entries(interceptors.stats().failures)) this.inc({ kind }, count)
        }
      })
      new Gauge({
        name: 'toolgate_interceptor_isolates',
        help: 'Warm JS interceptor isolates in this process',
        registers,
        collect () { this.set(interceptors.stats().isolates) }
      })
    }
    if (pools) {
      const poolGauge = (name: string, help: string, field: 'connected' | 'free' | 'pending' | 'queued' | 'running' | 'size') => new Gauge({
        name, help, labelNames: ['origin'] as const, registers,
        collect () {
          // Origins come from the config (provider base URLs), so the label set is bounded.
          this.reset()
          for (const [origin, stats] of pools.stats()) this.set({ origin }, stats[field])
        }
      })
      poolGauge('toolgate_upstream_pool_connections', 'Open connections of the undici pool of each upstream origin', 'connected')
      poolGauge('toolgate_upstream_pool_free_connections', 'Idle connections of each upstream pool', 'free')
      poolGauge('toolgate_upstream_pool_pending_requests', 'Requests waiting for a connection in each upstream pool', 'pending')
      poolGauge('toolgate_upstream_pool_queued_requests', 'Requests queued in each upstream pool (pending + running)', 'queued')
      poolGauge('toolgate_upstream_pool_running_requests', 'Requests in flight in each upstream pool', 'running')
    }
    if (upstreamSessions) {
      new Gauge({
        name: 'toolgate_upstream_mcp_sessions',
        help: 'Sessions with upstream MCP servers (remote-mcp, stdio), by status',
        labelNames: ['status'] as const,
        registers,
        collect () {
          this.reset()
          for (const [status, count] of upstreamSessions()) this.set({ status }, count)
        }
      })
    }
    if (debug) {
      new Gauge({ name: 'toolgate_debug_subscribers', help: 'Open live debug console streams on this process', registers, collect () { this.set(debug().subscribers) } })
      new Counter({
        name: 'toolgate_debug_events_total', help: 'Debug console events built on this process (0 while nobody is subscribed)', registers,
        collect () { this.reset(); this.inc(debug().eventsBuilt) }
      })
      new Counter({
        name: 'toolgate_debug_dropped_total', help: 'Debug console frames dropped because a subscriber was not reading fast enough', registers,
        collect () { this.reset(); this.inc(debug().dropped) }
      })
    }
  }

  /** One answered HTTP request (onResponse). */
  request (kind: RouteKind, statusCode: number): void {
    const row = this.#requests[kind === 'mcp' ? 0 : kind === 'api' ? 1 : 2]!
    row[Math.min(4, Math.max(0, Math.floor(statusCode / 100) - 1))]!.inc()
  }

  /** A 429 from a budget's rate limiter. */
  rateLimited (budget: string): void {
    this.#rateLimited.get(budget)?.inc()
  }

  /** One tools/call, answered: `seconds` from dispatch to answer. */
  toolCall (server: CompiledServer, tool: string, seconds: number, failed: boolean, outcome: CallOutcome | undefined, upstream?: { knowsTool (name: string): boolean }): void {
    const series = this.#seriesFor(server, tool, upstream)
    series.calls.inc()
    series.latency.observe(seconds)
    if (failed) series.errors.inc()
    const kind = outcome?.errorKind
    if (kind !== undefined && UPSTREAM_ERROR_KINDS.has(kind)) {
      let child = series.upstreamErrors.get(kind)
      if (!child) series.upstreamErrors.set(kind, child = this.#upstreamErrors.labels(server.name, kind))
      child.inc()
    }
  }

  /** A tool's series: config tools, and remote-mcp/stdio tools the upstream listed, by name; others `_other`. */
  #seriesFor (server: CompiledServer, tool: string, upstream?: { knowsTool (name: string): boolean }): ToolSeries {
    let byTool = this.#series.get(server)
    if (!byTool) this.#series.set(server, byTool = new Map())
    const label = server.tools.has(tool) || upstream?.knowsTool(tool) === true ? tool : OTHER_TOOL
    let series = byTool.get(label)
    if (!series) {
      series = {
        calls: this.#toolCalls.labels(server.name, label),
        errors: this.#toolErrors.labels(server.name, label),
        latency: this.#toolLatency.labels(server.name, label),
        upstreamErrors: new Map()
      }
      byTool.set(label, series)
    }
    return series
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
