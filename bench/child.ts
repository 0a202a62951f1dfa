// A benchmark component in its own process: `node --no-node-snapshot bench/child.ts <role> '<json>'`
// with role upstream | mcp-upstream | proxy | gateway | debug-reader. Started by bench/run.ts over IPC (fork), never by hand:
// it reports { type: 'ready', info } once listening, answers { type: 'cpu' } with its CPU time,
// and on { type: 'stop' } closes and exits normally (so --cpu-prof can write its profile).
// With the CPU time it reports the longest event-loop stall since the previous 'cpu' message: a
// 10 ms interval timer measures how late each tick came (a stall of any length over a few ms shows
// up in full), so a round's two samples bracket the round. (perf_hooks.monitorEventLoopDelay was
// not used: its reset() drops the first delta after it, so a stall just after a reset is missed.)
import { startBareProxy, startBenchGateway, startDebugReaders, startMcpUpstream, startUpstream, type DebugCounters, type DebugReaders, type Started } from './components.ts'

export type ChildRole = 'upstream' | 'mcp-upstream' | 'proxy' | 'gateway' | 'debug-reader'

/** What a child tells once it is ready (the gateway: its key and sessions, and the second gateway's when it runs one). */
export interface ChildInfo {
  url: string
  apiKey?: string
  sessionId?: string
  sessions?: Record<string, string>
  /** The gateway with TOOLGATE_TELEMETRY=off in the same process (option `noTelemetryDatabaseUrl`). */
  noTelemetry?: { url: string, apiKey: string, sessionId: string }
}

/** What a gateway (its debug bus) or the debug reader (what it read) reports with its CPU time. */
export type DebugReport = DebugCounters | ReturnType<DebugReaders['counts']>

export type ChildRequest = { type: 'cpu', id: number } | { type: 'stop', id: number }
export type ChildMessage =
  | { type: 'ready', info: ChildInfo }
  | { type: 'failed', message: string }
  | { type: 'cpu', id: number, user: number, system: number, rss: number, now: number, loopMaxMs: number, initializes?: number, debug?: DebugReport }
  | { type: 'stopped', id: number }

function reply (message: ChildMessage): void {
  process.send!(message)
}

type StartedChild = Started & Omit<ChildInfo, 'url'> & { initializes?: () => number, debug?: () => DebugReport }

async function start (role: ChildRole, options: Record<string, string>): Promise<StartedChild> {
  switch (role) {
    case 'upstream': return await startUpstream()
    case 'mcp-upstream': return await startMcpUpstream()
    case 'proxy': return await startBareProxy(options.upstreamUrl!)
    case 'gateway': {
      const gateway = await startBenchGateway({
        databaseUrl: options.databaseUrl!,
        upstreamUrl: options.upstreamUrl!,
        logLevel: options.logLevel ?? 'warn',
        ...(options.mcpUpstreamUrl ? { mcpUpstreamUrl: options.mcpUpstreamUrl } : {})
      })
      // The telemetry row's baseline: the same gateway with TOOLGATE_TELEMETRY=off, in this same
      // process (idle while the other is measured), so that the comparison is not between two
      // processes, which differ by more than telemetry costs.
      const other = options.noTelemetryDatabaseUrl
        ? await startBenchGateway({ databaseUrl: options.noTelemetryDatabaseUrl, upstreamUrl: options.upstreamUrl!, logLevel: options.logLevel ?? 'warn', telemetry: false })
        : undefined
      return {
        ...gateway,
        ...(other ? { noTelemetry: { url: other.url, apiKey: other.apiKey, sessionId: other.sessionId } } : {}),
        // A candidate checkout (--compare) may predate the debug bus.
        ...(gateway.debugStats ? { debug: () => gateway.debugStats() } : {}),
        close: async () => {
          await other?.close()
          await gateway.close()
        }
      }
    }
    case 'debug-reader': {
      const readers = await startDebugReaders(options.gatewayUrl!)
      return { ...readers, debug: () => readers.counts() }
    }
  }
}

if (!process.send) {
  console.error('bench/child.ts is started by bench/run.ts (it needs an IPC channel)')
  process.exit(2)
}

const role = process.argv[2] as ChildRole
const options = JSON.parse(process.argv[3] ?? '{}') as Record<string, string>
let started: Awaited<ReturnType<typeof start>>
try {
  started = await start(role, options)
} catch (err) {
  reply({ type: 'failed', message: (err as Error).stack ?? String(err) })
  process.exit(1)
}

const info: ChildInfo = { url: started.url }
if (started.apiKey) info.apiKey = started.apiKey
if (started.sessionId) info.sessionId = started.sessionId
if (started.sessions) info.sessions = started.sessions
if (started.noTelemetry) info.noTelemetry = started.noTelemetry
const TICK_MS = 10
let lastTick = performance.now()
let maxLateMs = 0
setInterval(() => {
  const now = performance.now()
  maxLateMs = Math.max(maxLateMs, now - lastTick - TICK_MS)
  lastTick = now
}, TICK_MS).unref()
reply({ type: 'ready', info })

let stopping = false
const stop = async (id: number) => {
  if (stopping) return
  stopping = true
  await started.close().catch(err => console.error(`bench ${role}: close failed`, err))
  if (process.connected) reply({ type: 'stopped', id })
  // A normal exit: --cpu-prof writes the profile now.
  process.exit(0)
}

process.on('message', (message: ChildRequest) => {
  if (message.type === 'cpu') {
    const usage = process.cpuUsage()
    // A stall in progress cannot be: this handler runs on the same loop.
    const loopMaxMs = Math.max(0, maxLateMs)
    maxLateMs = 0
    // now: CLOCK_MONOTONIC µs, the clock of --cpu-prof sample timestamps (for the profile window).
    reply({
      type: 'cpu', id: message.id, user: usage.user, system: usage.system, rss: process.memoryUsage.rss(), now: Number(process.hrtime.bigint() / 1000n), loopMaxMs,
      ...(started.initializes ? { initializes: started.initializes() } : {}),
      ...(started.debug ? { debug: started.debug() } : {})
    })
  } else if (message.type === 'stop') {
    void stop(message.id)
  }
})
// The parent went away without saying stop: do not linger.
process.on('disconnect', () => { void stop(-1) })
