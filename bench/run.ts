// `npm run bench`: tool-call throughput and latency through Toolgate, against the floor of one
// bare extra hop, against a mock upstream on 127.0.0.1. See docs/BENCHMARKS.md.
//
//   npm run bench                      full run: warm-up, then 5 interleaved rounds × 11 targets × c=1,32
//                                      (the 1 MB targets at c=1,2), then the interceptor micro-benchmark
//   npm run bench -- --quick           short smoke run (2 rounds of 0.5 s)
//   npm run bench -- --profile         CPU profiles (node --cpu-prof) of the gateway under load, summarised
//   npm run bench -- --layout single   everything in one process (the default gives each part its own)
//   other options: --rounds N --duration MS --warmup MS --prime MS --max-requests N
//                  --concurrency 1,32 --json FILE --profile-seconds S --profile-dir DIR --top N
//                  --targets direct,proxy,toolgate,toolgate+log,mcp-direct,toolgate-mcp,toolgate+jmespath,
//                            toolgate-1kb,toolgate+js-1kb,toolgate-1mb,toolgate+js-1mb,
//                            toolgate-notelemetry,toolgate+debug,toolgate+debug-slow
//                  --concurrency-1mb 1,2 (the levels of the ~1 MB targets)  --skip-micro (no micro-benchmark)
//                  --compare DIR: also run the gateway of another checkout (with this bench/ copied in)
//                                 as target `candidate`, interleaved with the rest (A/B of a change);
//                                 --compare-log-level info compares it with toolgate+log instead
//                  --quiet-wait MS (0: off) --quiet-threshold CPUs --max-other-load CPUs --retries N
//
// Targets: direct (the mock upstream itself), proxy (node:http + undici Pool, one hop, no MCP),
// toolgate (tools/call over Streamable HTTP, request log at warn: no line per request) and
// toolgate+log (the same at info: one pino line per request to /dev/null, as in production).
// The remote-mcp row: mcp-direct (tools/call straight to an upstream MCP server, over its own
// session) and toolgate-mcp (the same call through a Toolgate remote-mcp server in front of it),
// plus the count of upstream initialize calls after warm-up (split layout only).
// The interceptor rows (issue 4), all on the `toolgate` gateway (same process, same server, other
// tools), each against its baseline without interceptors: toolgate+jmespath (JMESPath response
// interceptor, 500-byte body) vs toolgate; toolgate+js-1kb vs toolgate-1kb (1 KB body);
// toolgate+js-1mb vs toolgate-1mb (1 MB body). Then the micro-benchmark of interceptor execution
// alone (bench/interceptor-micro.ts), in this process after the gateways are stopped.
// Issue 6 (split layout): toolgate-notelemetry (a second gateway like `toolgate`, with
// TOOLGATE_TELEMETRY=off: no usage counting, no metrics, in the same process as `toolgate`) is the
// baseline of `toolgate` for the cost of telemetry; toolgate+debug (server bench-debug of the `toolgate` gateway, with a live debug
// console subscriber that reads everything, in its own process) and toolgate+debug-slow (server
// bench-debug-slow, with a subscriber that never reads) are compared with `toolgate`.
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freshDatabase, stopTestCluster } from '../test/helpers/database.ts'
import type { ChildInfo, ChildMessage, ChildRole, DebugReport } from './child.ts'
import {
  BENCH_CALLS, DEBUG_SERVER, DEBUG_SLOW_SERVER, JMESPATH_INTERCEPTOR, JS_INTERCEPTOR, JS_LARGE_TIMEOUT_MS, JS_MEMORY_MB, MCP_SERVER, PROTOCOL_VERSION, REMOTE_MCP_SERVER, UPSTREAM_BODY_BYTES, UPSTREAM_PATH,
  callBody, expectedCallResponse, mcpHeaders, mcpToolsCallBody, openMcpSession, startBareProxy, startBenchGateway, startUpstream,
  type BenchCall, type BenchCallKey
} from './components.ts'
import { LoadClient, type RequestSpec, type RoundResult } from './load.ts'
import { summarizeProfile, type CpuProfile } from './profile-summary.ts'
import { formatMs, formatNumber, median } from './stats.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '')
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))

// ---------------------------------------------------------------------------------------------
// options

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    layout: { type: 'string', default: 'split' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    prime: { type: 'string' },
    'max-requests': { type: 'string' },
    concurrency: { type: 'string', default: '1,32' },
    'concurrency-1mb': { type: 'string', default: '1,2' },
    'skip-micro': { type: 'boolean', default: false },
    json: { type: 'string' },
    'profile-seconds': { type: 'string' },
    'profile-dir': { type: 'string' },
    top: { type: 'string', default: '25' },
    'quiet-wait': { type: 'string' },
    'quiet-threshold': { type: 'string', default: '0.25' },
    'max-other-load': { type: 'string', default: '0.3' },
    retries: { type: 'string' },
    targets: { type: 'string', default: 'direct,proxy,toolgate,toolgate+log,mcp-direct,toolgate-mcp,toolgate+jmespath,toolgate-1kb,toolgate+js-1kb,toolgate-1mb,toolgate+js-1mb,toolgate-notelemetry,toolgate+debug,toolgate+debug-slow' },
    compare: { type: 'string' },
    'compare-log-level': { type: 'string', default: 'warn' }
  }
})

function positiveInt (name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name}: expected a positive integer, got "${raw}"`)
  return value
}

const quick = flags.quick!
const options = {
  layout: flags.layout as 'split' | 'single',
  rounds: positiveInt('rounds', flags.rounds, quick ? 2 : 5),
  durationMs: positiveInt('duration', flags.duration, quick ? 500 : 3000),
  warmupMs: positiveInt('warmup', flags.warmup, quick ? 300 : 2000),
  primeMs: positiveInt('prime', flags.prime, quick ? 100 : 300),
  maxRequests: positiveInt('max-requests', flags['max-requests'], 200_000),
  concurrency: flags.concurrency!.split(',').map(c => positiveInt('concurrency', c.trim(), 1)),
  /** The ~1 MB targets move 1 MB per call each way: lower levels than the rest (see docs/BENCHMARKS.md). */
  concurrency1mb: flags['concurrency-1mb']!.split(',').map(c => positiveInt('concurrency-1mb', c.trim(), 1)),
  profileSeconds: positiveInt('profile-seconds', flags['profile-seconds'], quick ? 2 : 10),
  top: positiveInt('top', flags.top, 25),
  /** 0 disables the wait for a quiet machine before each round. */
  quietWaitMs: flags['quiet-wait'] === '0' ? 0 : positiveInt('quiet-wait', flags['quiet-wait'], quick ? 2000 : 15_000),
  quietThreshold: Number(flags['quiet-threshold']),
  /** A round during which other processes used more CPUs than this is measured again… */
  maxOtherLoad: Number(flags['max-other-load']),
  /** …at most this many times (the last measurement is kept). */
  retries: flags.retries === '0' ? 0 : positiveInt('retries', flags.retries, quick ? 0 : 2),
  targets: [...flags.targets!.split(',').map(t => t.trim()), ...(flags.compare ? ['candidate'] : [])] as TargetKey[],
  /** Another checkout of Toolgate (with this bench/ in it) whose gateway runs as the `candidate` target. */
  compare: flags.compare ? resolve(flags.compare) : undefined
}
const TARGET_KEYS = ['direct', 'proxy', 'toolgate', 'toolgate+log', 'candidate', 'mcp-direct', 'toolgate-mcp',
  'toolgate+jmespath', 'toolgate-1kb', 'toolgate+js-1kb', 'toolgate-1mb', 'toolgate+js-1mb',
  'toolgate-notelemetry', 'toolgate+debug', 'toolgate+debug-slow'] as const
for (const target of options.targets) {
  if (!(TARGET_KEYS as readonly string[]).includes(target)) throw new Error(`--targets: unknown target "${target}"`)
}
if (options.layout !== 'split' && options.layout !== 'single') throw new Error(`--layout: split or single, got "${options.layout}"`)
if (options.compare && options.layout !== 'split') throw new Error('--compare runs the candidate gateway in its own process: use the split layout')
if (flags.profile && options.layout !== 'split') throw new Error('--profile profiles the gateway in its own process: use the split layout')
const MAX_CONNECTIONS = Math.max(...options.concurrency, ...options.concurrency1mb)

// ---------------------------------------------------------------------------------------------
// machine

function packageVersion (name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

/** The commit measured, and whether src/ had uncommitted changes (read-only git commands). */
function codeVersion (): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== ''
    return `${head}${dirty ? ' + uncommitted changes in src/' : ''}`
  } catch {
    return 'unknown (not a git checkout)'
  }
}

function machineInfo (): Record<string, string | number> {
  const cpus = os.cpus()
  let family = ''
  let hypervisor = false
  let mhz = ''
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
    const fam = /^cpu family\s*:\s*(\d+)/m.exec(cpuinfo)?.[1]
    const model = /^model\s*:\s*(\d+)/m.exec(cpuinfo)?.[1]
    if (fam) family = ` (family ${fam}, model ${model ?? '?'})`
    mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1] ?? ''
    hypervisor = /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)
  } catch { /* not Linux */ }
  let quota = ''
  try {
    const [max, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/)
    quota = max === 'max' ? 'none' : `${(Number(max) / Number(period)).toFixed(2)} CPUs`
  } catch { quota = 'n/a' }
  return {
    cpu: `${cpus[0]?.model ?? 'unknown'}${family} @ ${mhz ? Math.round(Number(mhz)) : cpus[0]?.speed || '?'} MHz${hypervisor ? ', virtual machine' : ''}`,
    cores: `${cpus.length} logical CPUs (available parallelism ${os.availableParallelism()}, cgroup CPU quota ${quota})`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: `${process.version} (V8 ${process.versions.v8})`,
    code: codeVersion(),
    packages: `fastify ${packageVersion('fastify')}, undici ${packageVersion('undici')}, pino ${packageVersion('pino')}, ajv ${packageVersion('ajv')}, ` +
      `isolated-vm ${packageVersion('isolated-vm')}, @jmespath-community/jmespath ${packageVersion('@jmespath-community/jmespath')}`
  }
}

// ---------------------------------------------------------------------------------------------
// processes

interface CpuSample { user: number, system: number, now: number, initializes?: number, loopMaxMs?: number, debug?: DebugReport }

interface Proc {
  name: string
  cpu (): Promise<CpuSample>
  stop (): Promise<void>
}

const SELF: Proc = {
  name: 'bench',
  cpu: async () => {
    const usage = process.cpuUsage()
    return { user: usage.user, system: usage.system, now: Number(process.hrtime.bigint() / 1000n) }
  },
  stop: async () => {}
}

/** Jiffies of the whole machine from /proc/stat (Linux); undefined elsewhere. */
interface SystemTicks { busy: number, total: number }

function systemTicks (): SystemTicks | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
    const busy = user + nice + system + irq + softirq + steal
    return { busy, total: busy + idle + iowait }
  } catch {
    return undefined
  }
}

/** CPUs in use by the whole machine between two samples (0 … number of CPUs). */
function busyCores (before: SystemTicks | undefined, after: SystemTicks | undefined): number {
  if (!before || !after || after.total === before.total) return Number.NaN
  return (after.busy - before.busy) / (after.total - before.total) * os.cpus().length
}

/**
 * This machine may be shared (other jobs, other sessions' test runs). Before a measured round,
 * wait until the machine is quiet — under `threshold` CPUs busy over 250 ms — for at most
 * `maxWaitMs`. Returns how long it waited and whether it found quiet.
 */
async function waitForQuiet (threshold: number, maxWaitMs: number): Promise<{ waitedMs: number, quiet: boolean }> {
  const started = performance.now()
  while (true) {
    const before = systemTicks()
    if (!before) return { waitedMs: 0, quiet: true }
    await new Promise(resolve => setTimeout(resolve, 250))
    const load = busyCores(before, systemTicks())
    const waitedMs = performance.now() - started
    if (!(load >= threshold)) return { waitedMs, quiet: true }
    if (waitedMs >= maxWaitMs) return { waitedMs, quiet: false }
  }
}

class ChildProc implements Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly info: ChildInfo
  private nextId = 1
  private readonly pending = new Map<number, (message: ChildMessage) => void>()

  private constructor (name: string, child: ChildProcess, info: ChildProc['info']) {
    this.name = name
    this.child = child
    this.info = info
    child.on('message', (message: ChildMessage) => {
      if (!('id' in message)) return
      const resolve = this.pending.get(message.id)
      if (resolve) {
        this.pending.delete(message.id)
        resolve(message)
      }
    })
  }

  static async start (name: string, role: ChildRole, childOptions: Record<string, string>, execArgv: string[] = [], script = CHILD): Promise<ChildProc> {
    const child = fork(script, [role, JSON.stringify(childOptions)], {
      execArgv: ['--no-node-snapshot', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    children.add(child)
    child.once('exit', () => children.delete(child))
    const info = await new Promise<ChildProc['info']>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 90 s`)), 90_000)
      child.once('message', (message: ChildMessage) => {
        clearTimeout(timer)
        if (message.type === 'ready') resolve(message.info)
        else reject(new Error(`${name} failed to start: ${message.type === 'failed' ? message.message : message.type}`))
      })
      child.once('exit', code => {
        clearTimeout(timer)
        reject(new Error(`${name} exited (${code}) before it was ready`))
      })
    })
    return new ChildProc(name, child, info)
  }

  private ask (type: 'cpu'): Promise<ChildMessage> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${this.name} did not answer "${type}"`))
      }, 10_000)
      this.pending.set(id, message => {
        clearTimeout(timer)
        resolve(message)
      })
      this.child.send({ type, id })
    })
  }

  async cpu (): Promise<CpuSample> {
    const message = await this.ask('cpu')
    if (message.type !== 'cpu') throw new Error(`${this.name}: unexpected answer ${message.type}`)
    return {
      user: message.user, system: message.system, now: message.now, loopMaxMs: message.loopMaxMs,
      ...(message.initializes !== undefined ? { initializes: message.initializes } : {}),
      ...(message.debug !== undefined ? { debug: message.debug } : {})
    }
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>(resolve => this.child.once('exit', () => resolve()))
    try {
      this.child.send({ type: 'stop', id: 0 })
    } catch { /* already gone */ }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
}

/** Children this process forked, killed by pid if the bench dies before stopping them. */
const children = new Set<ChildProcess>()

function inProcess (name: string, close: () => Promise<void>): Proc {
  return { name, cpu: SELF.cpu, stop: close }
}

// ---------------------------------------------------------------------------------------------
// targets

/** `candidate` is the gateway of another checkout (--compare DIR), for A/B runs of a change. */
type TargetKey = typeof TARGET_KEYS[number]

/** The interceptor rows and the baseline each is compared with (same gateway, same body size). */
const INTERCEPTOR_ROWS = [
  { key: 'toolgate+jmespath', baseline: 'toolgate', engine: 'JMESPath', body: '500 B' },
  { key: 'toolgate+js-1kb', baseline: 'toolgate-1kb', engine: 'JS', body: '1 KB' },
  { key: 'toolgate+js-1mb', baseline: 'toolgate-1mb', engine: 'JS', body: '1 MB' }
] as const satisfies ReadonlyArray<{ key: TargetKey, baseline: TargetKey, engine: string, body: string }>

/** Targets served by the `toolgate` gateway besides `toolgate` itself: other tools of its bench server. */
const EXTRA_GATEWAY_TARGETS = ['toolgate+jmespath', 'toolgate-1kb', 'toolgate+js-1kb', 'toolgate-1mb', 'toolgate+js-1mb'] as const satisfies ReadonlyArray<TargetKey & BenchCallKey>

function levelsOf (key: TargetKey): number[] {
  return key.endsWith('-1mb') ? options.concurrency1mb : options.concurrency
}

interface Target {
  key: TargetKey
  title: string
  client: LoadClient
  /** The process that answers the load generator. */
  server: Proc
  /** The upstream process, when the target is a hop in front of it. */
  upstream?: Proc
  /** The concurrency levels it is measured at. */
  levels: number[]
  /** Other processes that work for this target (the debug subscriber): their CPU counts as ours, not as other load. */
  extra?: Proc[]
}

/** The telemetry and debug console rows and what each is compared with (issue 6). */
const OBSERVABILITY_ROWS = [
  { key: 'toolgate', baseline: 'toolgate-notelemetry', what: 'telemetry (usage counting + metrics)' },
  { key: 'toolgate+debug', baseline: 'toolgate', what: 'a debug subscriber reading everything' },
  { key: 'toolgate+debug-slow', baseline: 'toolgate', what: 'a debug subscriber that stopped reading' }
] as const satisfies ReadonlyArray<{ key: TargetKey, baseline: TargetKey, what: string }>
const DEBUG_TARGETS = { 'toolgate+debug': DEBUG_SERVER, 'toolgate+debug-slow': DEBUG_SLOW_SERVER } as const

function upstreamSpec (): RequestSpec {
  return {
    method: 'GET',
    path: UPSTREAM_PATH,
    headers: { accept: 'application/json' },
    check: (status, text) => status !== 200 ? `status ${status}` : text.length !== UPSTREAM_BODY_BYTES ? `body of ${text.length} bytes, expected ${UPSTREAM_BODY_BYTES}` : undefined
  }
}

/** A tools/call to the api gateway; the answer must be exactly the expected result (the upstream body, or the interceptor's output). */
function toolgateSpec (gateway: { apiKey: string, sessionId: string }, call: BenchCall = BENCH_CALLS.toolgate, server = MCP_SERVER): RequestSpec {
  const expected = expectedCallResponse(call)
  return {
    method: 'POST',
    path: `/mcp/${server}`,
    headers: mcpHeaders(gateway),
    body: callBody(call),
    check: (status, text) => {
      if (status !== 200) return `status ${status}: ${text.slice(0, 200)}`
      if (text !== expected) return `not the expected tool result (${text.length} bytes, expected ${expected.length}): ${text.slice(0, 200)}`
      return undefined
    }
  }
}

const GATEWAY_TITLES: Record<typeof EXTRA_GATEWAY_TARGETS[number], string> = {
  'toolgate+jmespath': 'Toolgate tools/call, JMESPath response interceptor, 500 B body',
  'toolgate-1kb': 'Toolgate tools/call, 1 KB body',
  'toolgate+js-1kb': 'Toolgate tools/call, JS response interceptor, 1 KB body',
  'toolgate-1mb': 'Toolgate tools/call, 1 MB body',
  'toolgate+js-1mb': 'Toolgate tools/call, JS response interceptor, 1 MB body'
}

function mcpDirectSpec (sessionId: string): RequestSpec {
  return {
    method: 'POST',
    path: new URL(MCP_UPSTREAM_PATH, 'http://x').pathname,
    headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: mcpToolsCallBody(),
    check: (status, text) => status !== 200 || !text.includes('"result":{') || text.includes('"isError":true') ? `not a successful tool result: ${status} ${text.slice(0, 200)}` : undefined
  }
}

function toolgateMcpSpec (gateway: { apiKey: string, sessionId: string }): RequestSpec {
  return {
    ...toolgateSpec(gateway),
    path: `/mcp/${REMOTE_MCP_SERVER}`,
    body: mcpToolsCallBody(),
    check: (status, text) => {
      if (status !== 200) return `status ${status}: ${text.slice(0, 200)}`
      if (!text.startsWith('{"jsonrpc":"2.0","id":1,"result":{') || text.includes('"isError":true')) return `not a successful tool result: ${text.slice(0, 200)}`
      return undefined
    }
  }
}

const MCP_UPSTREAM_PATH = '/mcp'

interface Setup {
  targets: Target[]
  procs: Proc[]
  /** The upstream MCP server of the remote-mcp row (counts its initialize calls). */
  mcpUpstream?: Proc
}

async function setUp (layout: 'split' | 'single', gatewayExecArgv: (variant: string) => string[] = () => [], only?: TargetKey[]): Promise<Setup> {
  const want = (key: TargetKey) => !only || only.includes(key)
  const procs: Proc[] = []
  const targets: Target[] = []
  const databases = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase(), freshDatabase(), freshDatabase()])
  let mcpUpstream: Proc | undefined
  if (layout === 'split') {
    const upstream = await ChildProc.start('upstream', 'upstream', {})
    procs.push(upstream)
    const upstreamUrl = upstream.info.url
    const debugRows = (Object.keys(DEBUG_TARGETS) as Array<keyof typeof DEBUG_TARGETS>).filter(want)
    const [proxy, gateway, gatewayLog, candidate] = await Promise.all([
      want('proxy') ? ChildProc.start('proxy', 'proxy', { upstreamUrl }) : undefined,
      want('toolgate') || EXTRA_GATEWAY_TARGETS.some(want) || debugRows.length > 0 || want('toolgate-notelemetry')
        ? ChildProc.start('toolgate', 'gateway', {
          upstreamUrl, databaseUrl: databases[0], logLevel: 'warn',
          // toolgate-notelemetry: a second gateway in the same process, TOOLGATE_TELEMETRY=off.
          ...(want('toolgate-notelemetry') ? { noTelemetryDatabaseUrl: databases[4]! } : {})
        }, gatewayExecArgv('warn'))
        : undefined,
      want('toolgate+log') ? ChildProc.start('toolgate+log', 'gateway', { upstreamUrl, databaseUrl: databases[1], logLevel: 'info' }, gatewayExecArgv('info')) : undefined,
      want('candidate') && options.compare
        ? ChildProc.start('candidate', 'gateway', { upstreamUrl, databaseUrl: databases[2], logLevel: flags['compare-log-level']! }, gatewayExecArgv('candidate'), join(options.compare, 'bench', 'child.ts'))
        : undefined
    ])
    if (want('direct')) targets.push({ key: 'direct', title: 'upstream directly', client: new LoadClient(upstreamUrl, upstreamSpec(), MAX_CONNECTIONS), server: upstream, levels: levelsOf('direct') })
    if (proxy) {
      procs.push(proxy)
      targets.push({ key: 'proxy', title: 'bare one-hop proxy', client: new LoadClient(proxy.info.url, upstreamSpec(), MAX_CONNECTIONS), server: proxy, upstream, levels: levelsOf('proxy') })
    }
    const titles = { toolgate: 'Toolgate tools/call', 'toolgate+log': 'Toolgate tools/call, info log', candidate: `Toolgate tools/call from ${options.compare}` }
    for (const [key, child] of [['toolgate', gateway], ['toolgate+log', gatewayLog], ['candidate', candidate]] as const) {
      if (!child) continue
      procs.push(child)
      const info = { apiKey: child.info.apiKey!, sessionId: child.info.sessionId! }
      if (want(key)) targets.push({ key, title: titles[key], client: new LoadClient(child.info.url, toolgateSpec(info), MAX_CONNECTIONS), server: child, upstream, levels: levelsOf(key) })
      // The interceptor rows and their size-matched baselines: other tools of the same gateway.
      if (key === 'toolgate') {
        for (const extra of EXTRA_GATEWAY_TARGETS.filter(want)) {
          targets.push({ key: extra, title: GATEWAY_TITLES[extra], client: new LoadClient(child.info.url, toolgateSpec(info, BENCH_CALLS[extra]), MAX_CONNECTIONS), server: child, upstream, levels: levelsOf(extra) })
        }
        // The debug console rows: other servers of the same gateway, each with its subscriber
        // (both in one child process, connected for the whole run).
        if (debugRows.length > 0) {
          const reader = await ChildProc.start('debug-reader', 'debug-reader', { gatewayUrl: child.info.url })
          procs.push(reader)
          for (const row of debugRows) {
            const server = DEBUG_TARGETS[row]
            const session = { apiKey: info.apiKey, sessionId: child.info.sessions?.[server] ?? '' }
            if (!session.sessionId) throw new Error(`the toolgate gateway opened no session on ${server}`)
            targets.push({
              key: row, title: row === 'toolgate+debug' ? 'Toolgate tools/call, debug subscriber reading' : 'Toolgate tools/call, debug subscriber stalled',
              client: new LoadClient(child.info.url, toolgateSpec(session, BENCH_CALLS.toolgate, server), MAX_CONNECTIONS), server: child, upstream, levels: levelsOf(row), extra: [reader]
            })
          }
        }
      }
    }
    const noTelemetry = gateway?.info.noTelemetry
    if (gateway && noTelemetry) {
      targets.push({
        key: 'toolgate-notelemetry', title: 'Toolgate tools/call, TOOLGATE_TELEMETRY=off (second gateway in the toolgate process)',
        client: new LoadClient(noTelemetry.url, toolgateSpec(noTelemetry), MAX_CONNECTIONS), server: gateway, upstream, levels: levelsOf('toolgate-notelemetry')
      })
    }
    if (want('mcp-direct') || want('toolgate-mcp')) {
      const mcpChild = await ChildProc.start('mcp-upstream', 'mcp-upstream', {})
      procs.push(mcpChild)
      mcpUpstream = mcpChild
      const mcpUrl = mcpChild.info.url
      if (want('mcp-direct')) {
        const sessionId = await openMcpSession(mcpUrl)
        targets.push({ key: 'mcp-direct', title: 'upstream MCP server directly', client: new LoadClient(new URL(mcpUrl).origin, mcpDirectSpec(sessionId), MAX_CONNECTIONS), server: mcpChild, levels: levelsOf('mcp-direct') })
      }
      if (want('toolgate-mcp')) {
        const child = await ChildProc.start('toolgate-mcp', 'gateway', { upstreamUrl, mcpUpstreamUrl: mcpUrl, databaseUrl: databases[3]!, logLevel: 'warn' }, gatewayExecArgv('mcp'))
        procs.push(child)
        const info = { apiKey: child.info.apiKey!, sessionId: child.info.sessionId! }
        targets.push({ key: 'toolgate-mcp', title: 'Toolgate remote-mcp tools/call', client: new LoadClient(child.info.url, toolgateMcpSpec(info), MAX_CONNECTIONS), server: child, upstream: mcpChild, levels: levelsOf('toolgate-mcp') })
      }
    }
  } else {
    const upstream = await startUpstream()
    const upstreamProc = inProcess('upstream', upstream.close)
    procs.push(upstreamProc)
    const proxy = await startBareProxy(upstream.url)
    const proxyProc = inProcess('proxy', proxy.close)
    procs.push(proxyProc)
    const gateway = await startBenchGateway({ databaseUrl: databases[0], upstreamUrl: upstream.url, logLevel: 'warn' })
    procs.push(inProcess('toolgate', gateway.close))
    const gatewayLog = await startBenchGateway({ databaseUrl: databases[1], upstreamUrl: upstream.url, logLevel: 'info' })
    procs.push(inProcess('toolgate+log', gatewayLog.close))
    targets.push(
      { key: 'direct', title: 'upstream directly', client: new LoadClient(upstream.url, upstreamSpec(), MAX_CONNECTIONS), server: upstreamProc, levels: levelsOf('direct') },
      { key: 'proxy', title: 'bare one-hop proxy', client: new LoadClient(proxy.url, upstreamSpec(), MAX_CONNECTIONS), server: proxyProc, upstream: upstreamProc, levels: levelsOf('proxy') },
      { key: 'toolgate', title: 'Toolgate tools/call', client: new LoadClient(gateway.url, toolgateSpec(gateway), MAX_CONNECTIONS), server: procs[2]!, upstream: upstreamProc, levels: levelsOf('toolgate') },
      { key: 'toolgate+log', title: 'Toolgate tools/call, info log', client: new LoadClient(gatewayLog.url, toolgateSpec(gatewayLog), MAX_CONNECTIONS), server: procs[3]!, upstream: upstreamProc, levels: levelsOf('toolgate+log') },
      ...EXTRA_GATEWAY_TARGETS.map(extra => ({
        key: extra, title: GATEWAY_TITLES[extra], client: new LoadClient(gateway.url, toolgateSpec(gateway, BENCH_CALLS[extra]), MAX_CONNECTIONS), server: procs[2]!, upstream: upstreamProc, levels: levelsOf(extra)
      }))
    )
    for (const target of targets) if (!want(target.key)) await target.client.close()
    targets.splice(0, targets.length, ...targets.filter(target => want(target.key)))
    if (want('mcp-direct') || want('toolgate-mcp')) console.log('  (the remote-mcp targets run in the split layout only; skipped)')
    if (want('toolgate-notelemetry') || want('toolgate+debug') || want('toolgate+debug-slow')) console.log('  (the telemetry and debug console targets run in the split layout only; skipped)')
  }
  return { targets, procs, ...(mcpUpstream ? { mcpUpstream } : {}) }
}

async function tearDown (setup: Setup | undefined): Promise<void> {
  if (setup) {
    for (const target of setup.targets) await target.client.close().catch(() => {})
    // Gateways first (they hold database connections), the upstream last.
    for (const proc of [...setup.procs].reverse()) await proc.stop().catch(err => console.error(`stopping ${proc.name}:`, err))
  }
  await stopTestCluster()
}

// ---------------------------------------------------------------------------------------------
// measuring

interface Measured extends RoundResult {
  round: number
  /** CPU time per request of the serving process, of the upstream behind it, of the load generator (µs). */
  serverUs: number
  upstreamUs: number | undefined
  loadgenUs: number
  /** CPU time of all involved processes over the round, in cores (2 = both CPUs busy). */
  cores: number
  /** CPUs busy with anything else on the machine during the round (/proc/stat minus ours). */
  otherCores: number
  quietWaitMs: number
  startedQuiet: boolean
  /** Times this round was measured again because of load from other processes. */
  retries: number
  /** Longest event-loop stall in the serving process during the round (ms; split layout). */
  loopMaxMs: number
  /** Debug console events the serving gateway built during the round, and frames it dropped (NaN: not reported). */
  debugEvents: number
  debugDropped: number
  /** CPU time per request of the target's extra processes (the debug subscriber), µs. */
  extraUs: number
}

async function cpuOf (procs: Proc[]): Promise<CpuSample[]> {
  return await Promise.all(procs.map(p => p.cpu()))
}

function usedUs (before: CpuSample, after: CpuSample): number {
  return (after.user + after.system) - (before.user + before.system)
}

async function measure (target: Target, concurrency: number, round: number): Promise<Measured> {
  const gate = options.quietWaitMs > 0 ? await waitForQuiet(options.quietThreshold, options.quietWaitMs) : { waitedMs: 0, quiet: true }
  // A short unrecorded burst: connections warm and open, whatever ran just before.
  await target.client.round({ concurrency, durationMs: options.primeMs, maxRequests: options.maxRequests })
  const involved = [...new Set([target.server, ...(target.upstream ? [target.upstream] : []), ...(target.extra ?? []), SELF])]
  // In the single layout every Proc is this process: count its CPU once.
  const distinct = options.layout === 'single' ? [SELF] : involved
  const before = await cpuOf(distinct)
  const systemBefore = systemTicks()
  const result = await target.client.round({ concurrency, durationMs: options.durationMs, maxRequests: options.maxRequests })
  const systemAfter = systemTicks()
  const after = await cpuOf(distinct)
  const perRequest = (proc: Proc) => {
    const i = distinct.indexOf(proc)
    return i < 0 || result.ok === 0 ? Number.NaN : usedUs(before[i]!, after[i]!) / result.ok
  }
  const total = distinct.reduce((sum, _p, i) => sum + usedUs(before[i]!, after[i]!), 0)
  // The serving gateway's debug bus over the round: events built (0 without a subscriber) and frames dropped.
  const serverAt = distinct.indexOf(target.server)
  const debugBefore = serverAt < 0 ? undefined : before[serverAt]!.debug as { eventsBuilt?: number, dropped?: number } | undefined
  const debugAfter = serverAt < 0 ? undefined : after[serverAt]!.debug as { eventsBuilt?: number, dropped?: number } | undefined
  const extraUs = (target.extra ?? []).reduce((sum, proc) => {
    const i = distinct.indexOf(proc)
    return i < 0 ? sum : sum + usedUs(before[i]!, after[i]!)
  }, 0)
  return {
    ...result,
    debugEvents: debugBefore?.eventsBuilt !== undefined && debugAfter?.eventsBuilt !== undefined ? debugAfter.eventsBuilt - debugBefore.eventsBuilt : Number.NaN,
    debugDropped: debugBefore?.dropped !== undefined && debugAfter?.dropped !== undefined ? debugAfter.dropped - debugBefore.dropped : Number.NaN,
    extraUs: target.extra && result.ok > 0 ? extraUs / result.ok : Number.NaN,
    round,
    serverUs: options.layout === 'single' ? Number.NaN : perRequest(target.server),
    upstreamUs: target.upstream && options.layout === 'split' ? perRequest(target.upstream) : undefined,
    loadgenUs: options.layout === 'single' ? Number.NaN : perRequest(SELF),
    cores: total / (result.elapsedMs * 1000),
    otherCores: Math.max(0, busyCores(systemBefore, systemAfter) - total / (result.elapsedMs * 1000)),
    quietWaitMs: gate.waitedMs,
    startedQuiet: gate.quiet,
    retries: 0,
    loopMaxMs: options.layout === 'single' ? Number.NaN : after[distinct.indexOf(target.server)]!.loopMaxMs ?? Number.NaN
  }
}

interface Row {
  target: TargetKey
  title: string
  concurrency: number
  rounds: number
  requests: number
  errors: number
  rps: number
  rpsMin: number
  rpsMax: number
  p50: number
  p99: number
  serverUs: number
  upstreamUs: number | undefined
  loadgenUs: number
  /** In the single layout: CPU µs per request of the whole process. */
  processUs: number
  cores: number
  otherCores: number
  /** The longest event-loop stall of the serving process over all rounds (ms). */
  loopMaxMs: number
  /** The same over the rounds with at most --max-other-load CPUs of other load (NaN if none): a stall there is less likely to be preemption. */
  loopMaxQuietMs: number
  /** Debug console events built and frames dropped per request in the serving gateway (medians over rounds; NaN: not reported). */
  debugEventsPerCall: number
  debugDroppedPerCall: number
  /** CPU µs per request of the target's extra processes (the debug subscriber). */
  extraUs: number
}

function summarize (target: Target, concurrency: number, rounds: Measured[]): Row {
  const rps = rounds.map(r => r.rps)
  const upstream = rounds.map(r => r.upstreamUs).filter((v): v is number => v !== undefined)
  const quietLoop = rounds.filter(r => r.otherCores <= options.maxOtherLoad).map(r => r.loopMaxMs).filter(Number.isFinite)
  return {
    target: target.key,
    title: target.title,
    concurrency,
    rounds: rounds.length,
    requests: rounds.reduce((s, r) => s + r.ok, 0),
    errors: rounds.reduce((s, r) => s + r.errors, 0),
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    p50: median(rounds.map(r => r.p50)),
    p99: median(rounds.map(r => r.p99)),
    serverUs: median(rounds.map(r => r.serverUs)),
    upstreamUs: upstream.length > 0 ? median(upstream) : undefined,
    loadgenUs: median(rounds.map(r => r.loadgenUs)),
    processUs: median(rounds.map(r => r.cores * r.elapsedMs * 1000 / Math.max(1, r.ok))),
    cores: median(rounds.map(r => r.cores)),
    otherCores: median(rounds.map(r => r.otherCores)),
    loopMaxMs: Math.max(...rounds.map(r => r.loopMaxMs)),
    loopMaxQuietMs: quietLoop.length > 0 ? Math.max(...quietLoop) : Number.NaN,
    debugEventsPerCall: median(rounds.map(r => r.debugEvents / Math.max(1, r.ok))),
    debugDroppedPerCall: median(rounds.map(r => r.debugDropped / Math.max(1, r.ok))),
    extraUs: median(rounds.map(r => r.extraUs))
  }
}

function table (headers: string[], rows: string[][], rightAligned: (i: number) => boolean): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => rightAligned(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(headers), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

function us (value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : formatNumber(value)
}

async function benchmark (): Promise<number> {
  const machine = machineInfo()
  console.log('Toolgate benchmark')
  for (const [key, value] of Object.entries(machine)) console.log(`  ${key.padEnd(9)}${value}`)
  console.log(`  layout   ${options.layout === 'split'
    ? 'split: load generator (this process), upstream, bare proxy, and each gateway in its own process'
    : 'single: load generator, upstream, bare proxy and both gateways in this one process'}`)
  console.log(`  plan     warm-up ${options.warmupMs} ms per target×c; ${options.rounds} interleaved rounds × ${options.durationMs} ms ` +
    `(each after a ${options.primeMs} ms unrecorded burst, capped at ${options.maxRequests} requests); c = ${options.concurrency.join(', ')} ` +
    `(the ~1 MB targets: c = ${options.concurrency1mb.join(', ')})`)
  if (options.quietWaitMs > 0) {
    console.log(`  gate     before each round, wait (≤ ${options.quietWaitMs / 1000} s) until under ${options.quietThreshold} CPUs are busy machine-wide; ` +
      `re-measure a round (≤ ${options.retries}×) if other processes used over ${options.maxOtherLoad} CPUs during it`)
  }
  console.log(`  payload  upstream GET ${UPSTREAM_PATH} → 200, ${UPSTREAM_BODY_BYTES} bytes of JSON (-1kb targets: ${BENCH_CALLS['toolgate-1kb'].pad + 34} bytes, -1mb: ${BENCH_CALLS['toolgate-1mb'].pad + 34})`)
  console.log(`  interceptors  JMESPath ${JSON.stringify(JMESPATH_INTERCEPTOR)}; JS ${JSON.stringify(JS_INTERCEPTOR)} (memoryMb ${JS_MEMORY_MB}; time limit 100 ms, on the 1 MB body ${JS_LARGE_TIMEOUT_MS} ms); response phase`)
  console.log('')

  let setup: Setup | undefined
  let results: Record<string, unknown> | undefined
  let failed = false
  try {
    setup = await setUp(options.layout, () => [], options.targets)
    const { targets } = setup
    process.stdout.write('warming up')
    for (const target of targets) {
      for (const concurrency of target.levels) {
        const warm = await target.client.round({ concurrency, durationMs: options.warmupMs, maxRequests: options.maxRequests })
        if (warm.errors > 0) throw new Error(`${target.key} at c=${concurrency} failed during warm-up: ${warm.firstError}`)
        process.stdout.write('.')
      }
    }
    process.stdout.write('\n')
    // Upstream sessions are made at set-up (and by warm-up if pooling were broken): from here on, none.
    const initializesAfterWarmup = setup.mcpUpstream ? (await setup.mcpUpstream.cpu()).initializes : undefined

    const measured = new Map<string, Measured[]>()
    for (let round = 0; round < options.rounds; round++) {
      // Interleaved and rotated: every round visits every target and concurrency, in a shifted
      // order, so drift (thermal, noisy neighbours, GC state) spreads over all targets alike.
      const order = [...targets.slice(round % targets.length), ...targets.slice(0, round % targets.length)]
      const allLevels = [...new Set(targets.flatMap(t => t.levels))].sort((a, b) => a - b)
      const levels = round % 2 === 0 ? allLevels : [...allLevels].reverse()
      for (const concurrency of levels) {
        for (const target of order) {
          if (!target.levels.includes(concurrency)) continue
          let result = await measure(target, concurrency, round)
          // Another process took CPU during the round: measure it again (a bounded number of times).
          let retries = 0
          while (result.otherCores > options.maxOtherLoad && retries < options.retries) {
            retries++
            result = await measure(target, concurrency, round)
          }
          result.retries = retries
          const notes = [`other load ${Number.isFinite(result.otherCores) ? result.otherCores.toFixed(2) : 'n/a'} CPUs`]
          if (result.quietWaitMs > 1000) notes.push(`waited ${(result.quietWaitMs / 1000).toFixed(1)} s for quiet`)
          if (retries > 0) notes.push(`re-measured ${retries}×`)
          if (Number.isFinite(result.loopMaxMs)) notes.push(`loop max ${result.loopMaxMs.toFixed(1)} ms`)
          if (result.errors > 0) notes.push(`${result.errors} errors: ${result.firstError?.slice(0, 120)}`)
          console.log(`  round ${round + 1} ${target.key.padEnd(17)} c=${String(concurrency).padEnd(3)} ${formatNumber(result.rps).padStart(7)} req/s  ` +
            `p50 ${formatMs(result.p50)} ms  p99 ${formatMs(result.p99)} ms  (${notes.join(', ')})`)
          const key = `${target.key}@${concurrency}`
          measured.set(key, [...(measured.get(key) ?? []), result])
        }
      }
    }

    const rows: Row[] = []
    for (const concurrency of [...new Set(targets.flatMap(t => t.levels))].sort((a, b) => a - b)) {
      for (const target of targets) if (target.levels.includes(concurrency)) rows.push(summarize(target, concurrency, measured.get(`${target.key}@${concurrency}`)!))
    }

    console.log('')
    console.log(`Medians across ${options.rounds} rounds (latency per request, client side, response fully read):`)
    const split = options.layout === 'split'
    const headers = split
      ? ['target', 'c', 'req/s', 'req/s min–max', 'p50 ms', 'p99 ms', 'server µs/req', 'upstream µs/req', 'loadgen µs/req', 'CPU cores', 'other load', 'loop max ms', 'errors']
      : ['target', 'c', 'req/s', 'req/s min–max', 'p50 ms', 'p99 ms', 'process µs/req', 'CPU cores', 'other load', 'errors']
    console.log(table(headers, rows.map(r => [
      r.target, String(r.concurrency), formatNumber(r.rps), `${formatNumber(r.rpsMin)}–${formatNumber(r.rpsMax)}`,
      formatMs(r.p50), formatMs(r.p99),
      ...(split ? [us(r.serverUs), us(r.upstreamUs), us(r.loadgenUs)] : [us(r.processUs)]),
      r.cores.toFixed(2), Number.isFinite(r.otherCores) ? r.otherCores.toFixed(2) : '-',
      ...(split ? [Number.isFinite(r.loopMaxMs) ? r.loopMaxMs.toFixed(1) : '-'] : []), String(r.errors)
    ]), i => i > 0))

    const row = (target: TargetKey, c: number) => rows.find(r => r.target === target && r.concurrency === c)
    const ratios: Record<string, { throughputC32?: number, p50C1?: number, addedP50C1Ms?: number }> = {}
    if (rows.some(r => r.target === 'proxy')) {
      console.log('')
      console.log('Toolgate / bare proxy (targets: throughput at c=32 ≥ 0.50; p50 at c=1 < 2.00×):')
    }
    for (const key of ['toolgate', 'toolgate+log', 'candidate'] as const) {
      const entry: { throughputC32?: number, p50C1?: number, addedP50C1Ms?: number } = {}
      const parts: string[] = []
      const tg32 = row(key, 32)
      const px32 = row('proxy', 32)
      if (tg32 && px32) {
        entry.throughputC32 = tg32.rps / px32.rps
        const ok = entry.throughputC32 >= 0.5
        parts.push(`throughput c=32 ${entry.throughputC32.toFixed(3)} (${ok ? 'met' : 'NOT met'})`)
      }
      const tg1 = row(key, 1)
      const px1 = row('proxy', 1)
      if (tg1 && px1) {
        entry.p50C1 = tg1.p50 / px1.p50
        entry.addedP50C1Ms = tg1.p50 - px1.p50
        const ok = entry.p50C1 < 2
        parts.push(`p50 c=1 ${entry.p50C1.toFixed(3)}× (+${formatMs(entry.addedP50C1Ms)} ms; ${ok ? 'met' : 'NOT met'})`)
      }
      if (parts.length === 0) continue
      ratios[key] = entry
      console.log(`  ${key.padEnd(13)} ${parts.join(' · ')}`)
    }
    const baseline: TargetKey = flags['compare-log-level'] === 'info' ? 'toolgate+log' : 'toolgate'
    for (const c of options.concurrency) {
      const base = row(baseline, c)
      const candidate = row('candidate', c)
      if (!base || !candidate) continue
      console.log(`  candidate / ${baseline} at c=${c}: req/s ${(candidate.rps / base.rps).toFixed(2)}×, p50 ${(candidate.p50 / base.p50).toFixed(2)}×, ` +
        `gateway CPU per request ${us(candidate.serverUs)} vs ${us(base.serverUs)} µs`)
    }
    const mcpRatios: { throughputC32?: number, p50C1?: number, upstreamInitializesAfterWarmup?: number } = {}
    const mcp32 = row('toolgate-mcp', 32)
    const mcpDirect32 = row('mcp-direct', 32)
    const mcp1 = row('toolgate-mcp', 1)
    const mcpDirect1 = row('mcp-direct', 1)
    if (setup.mcpUpstream && initializesAfterWarmup !== undefined) {
      mcpRatios.upstreamInitializesAfterWarmup = ((await setup.mcpUpstream.cpu()).initializes ?? 0) - initializesAfterWarmup
    }
    if ((mcp32 && mcpDirect32) || (mcp1 && mcpDirect1)) {
      console.log('')
      console.log('remote-mcp: Toolgate / the upstream MCP server called directly (target: throughput at c=32 ≥ 0.50, no upstream initialize after warm-up):')
      const parts: string[] = []
      if (mcp32 && mcpDirect32) {
        mcpRatios.throughputC32 = mcp32.rps / mcpDirect32.rps
        parts.push(`throughput c=32 ${mcpRatios.throughputC32.toFixed(3)} (${mcpRatios.throughputC32 >= 0.5 ? 'met' : 'NOT met'})`)
      }
      if (mcp1 && mcpDirect1) {
        mcpRatios.p50C1 = mcp1.p50 / mcpDirect1.p50
        parts.push(`p50 c=1 ${mcpRatios.p50C1.toFixed(3)}× (+${formatMs(mcp1.p50 - mcpDirect1.p50)} ms)`)
      }
      if (mcpRatios.upstreamInitializesAfterWarmup !== undefined) {
        parts.push(`upstream initialize calls after warm-up: ${mcpRatios.upstreamInitializesAfterWarmup} (${mcpRatios.upstreamInitializesAfterWarmup === 0 ? 'met' : 'NOT met'})`)
      }
      console.log(`  toolgate-mcp  ${parts.join(' · ')}`)
    }
    const px1 = row('proxy', 1)
    const d1 = row('direct', 1)
    const px32 = row('proxy', 32)
    const d32 = row('direct', 32)
    if (px1 && d1 && px32 && d32) {
      console.log(`  (for scale: bare proxy / direct: throughput c=32 ${(px32.rps / d32.rps).toFixed(2)}, p50 c=1 ${(px1.p50 / d1.p50).toFixed(2)}×)`)
    }

    const interceptorCosts = reportInterceptorCosts(rows)
    const observabilityCosts = reportObservabilityCosts(rows, measured)
    gatewayUsPerCall = rows.find(r => r.target === 'toolgate' && r.concurrency === Math.max(...options.concurrency))?.serverUs

    const all = [...measured.values()].flat()
    const noisy = all.filter(r => !r.startedQuiet).length
    const waited = all.reduce((s, r) => s + r.quietWaitMs, 0)
    const others = all.map(r => r.otherCores).filter(Number.isFinite)
    if (others.length > 0) {
      console.log(`  machine load from other processes during rounds: median ${median(others).toFixed(2)} CPUs, max ${Math.max(...others).toFixed(2)}; ` +
        `${noisy} of ${all.length} rounds started without a quiet machine (waited ${(waited / 1000).toFixed(1)} s in all); ` +
        `${all.reduce((s, r) => s + r.retries, 0)} re-measurements, ${all.filter(r => r.otherCores > options.maxOtherLoad).length} kept rounds still over ${options.maxOtherLoad} CPUs`)
    }

    const errors = rows.reduce((s, r) => s + r.errors, 0)
    if (errors > 0) {
      console.log('')
      console.log(`WARNING: ${errors} failed requests; first problems:`)
      for (const [key, list] of measured) for (const r of list) if (r.firstError) console.log(`  ${key} round ${r.round + 1}: ${r.firstError}`)
    }
    if (flags.json) {
      results = { machine, options, rows, ratios, remoteMcp: mcpRatios, interceptors: interceptorCosts, observability: observabilityCosts, rounds: Object.fromEntries(measured) }
    }
    failed = errors > 0
  } finally {
    await tearDown(setup)
  }
  // The micro-benchmark runs in this process, after the gateways and the upstream have stopped.
  const micro = flags['skip-micro'] ? undefined : await microBenchmark()
  const observabilityMicro = flags['skip-micro'] ? undefined : await observabilityMicroBenchmark(gatewayUsPerCall)
  if (flags.json && results) {
    writeFileSync(flags.json, JSON.stringify({ ...results, ...(micro ? { interceptorMicro: micro } : {}), ...(observabilityMicro ? { observabilityMicro } : {}) }, null, 2) + '\n')
    console.log(`\nresults written to ${flags.json}`)
  }
  return failed ? 1 : 0
}

interface InterceptorCost {
  target: TargetKey
  baseline: TargetKey
  /** Median p50 at c=1 minus the baseline's (µs). */
  addedP50C1Us?: number
  /** Requests/s at the highest level, over the baseline's; and that level. */
  throughputRatio?: number
  throughputC?: number
  /** Gateway CPU per call at the highest level, minus the baseline's (µs). */
  addedServerUs?: number
  /** Longest event-loop stall in the gateway over all rounds of this target (ms); and over its rounds on a quiet machine. */
  loopMaxMs?: number
  loopMaxQuietMs?: number
}

/** Added cost per call of each interceptor row against its baseline (same gateway, same body, same run). */
function reportInterceptorCosts (rows: Row[]): InterceptorCost[] {
  const costs: InterceptorCost[] = []
  const lines: string[] = []
  for (const { key, baseline, engine, body } of INTERCEPTOR_ROWS) {
    const mine = rows.filter(r => r.target === key)
    const base = rows.filter(r => r.target === baseline)
    if (mine.length === 0 || base.length === 0) continue
    const cost: InterceptorCost = { target: key, baseline }
    const parts: string[] = []
    const m1 = mine.find(r => r.concurrency === 1)
    const b1 = base.find(r => r.concurrency === 1)
    if (m1 && b1) {
      cost.addedP50C1Us = (m1.p50 - b1.p50) * 1000
      parts.push(`p50 c=1 ${formatMs(m1.p50)} vs ${formatMs(b1.p50)} ms: ${cost.addedP50C1Us >= 0 ? '+' : ''}${formatNumber(cost.addedP50C1Us)} µs`)
    }
    const top = Math.max(...mine.map(r => r.concurrency))
    const mTop = mine.find(r => r.concurrency === top)
    const bTop = base.find(r => r.concurrency === top)
    if (top > 1 && mTop && bTop) {
      cost.throughputC = top
      cost.throughputRatio = mTop.rps / bTop.rps
      cost.addedServerUs = mTop.serverUs - bTop.serverUs
      parts.push(`throughput c=${top} ${cost.throughputRatio.toFixed(3)}× (${formatNumber(mTop.rps)} vs ${formatNumber(bTop.rps)} req/s)`)
      if (Number.isFinite(cost.addedServerUs)) parts.push(`gateway CPU c=${top} ${cost.addedServerUs >= 0 ? '+' : ''}${formatNumber(cost.addedServerUs)} µs/call`)
    }
    const loop = Math.max(...mine.map(r => r.loopMaxMs))
    if (Number.isFinite(loop)) {
      cost.loopMaxMs = loop
      const baseLoop = Math.max(...base.map(r => r.loopMaxMs))
      const quiet = Math.max(...mine.map(r => r.loopMaxQuietMs).filter(Number.isFinite))
      const baseQuiet = Math.max(...base.map(r => r.loopMaxQuietMs).filter(Number.isFinite))
      if (Number.isFinite(quiet)) cost.loopMaxQuietMs = quiet
      const fmtLoop = (v: number) => Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a'
      parts.push(`gateway event loop max ${loop.toFixed(1)} ms (${loop <= 100 ? 'within' : 'OVER'} the default 100 ms time limit; baseline's ${baseLoop.toFixed(1)} ms; ` +
        `in rounds with ≤ ${options.maxOtherLoad} CPUs of other load ${fmtLoop(quiet)}, baseline's ${fmtLoop(baseQuiet)})`)
    }
    costs.push(cost)
    lines.push(`  ${key.padEnd(16)} vs ${baseline.padEnd(13)} (${engine}, ${body}): ${parts.join(' · ')}`)
  }
  if (lines.length > 0) {
    console.log('')
    console.log('Interceptors: added cost per call against the same-size baseline without interceptors (same gateway, same run; ' +
      'targets for a 1 KB body, median added cost: JMESPath ≤ 20 µs, JS ≤ 60 µs):')
    for (const line of lines) console.log(line)
  }
  return costs
}

interface ObservabilityCost {
  target: TargetKey
  baseline: TargetKey
  concurrency: number
  /** Requests/s over the baseline's: from the medians, and the median of the per-round ratios. */
  throughputRatio: number
  pairedThroughputRatio: number
  /** p50 minus the baseline's (µs), from the medians and paired per round. */
  addedP50Us: number
  pairedAddedP50Us: number
  /** Gateway CPU per call minus the baseline's (µs, median of per-round differences). */
  addedServerUs: number
  /** Debug events built / frames dropped per call in the gateway, and the subscriber's CPU per call. */
  debugEventsPerCall: number
  debugDroppedPerCall: number
  subscriberUs: number
}

/** Median over the rounds both targets had at level c of f(row round, baseline round). */
function pairedMedian (measured: Map<string, Measured[]>, key: TargetKey, baseline: TargetKey, c: number, f: (mine: Measured, base: Measured) => number): number {
  const mine = measured.get(`${key}@${c}`) ?? []
  const base = measured.get(`${baseline}@${c}`) ?? []
  const values: number[] = []
  for (const r of mine) {
    const b = base.find(x => x.round === r.round)
    if (b) values.push(f(r, b))
  }
  const finite = values.filter(Number.isFinite)
  return finite.length > 0 ? median(finite) : Number.NaN
}

/**
 * Issue 6: the cost of telemetry (usage counting + metrics: `toolgate` against the same gateway with
 * TOOLGATE_TELEMETRY=off) and of a connected debug console subscriber (reading, or stalled: the
 * debug rows against `toolgate`), at every level, interleaved in the same rounds.
 */
function reportObservabilityCosts (rows: Row[], measured: Map<string, Measured[]>): ObservabilityCost[] {
  const costs: ObservabilityCost[] = []
  const lines: string[] = []
  const signed = (v: number, digits = 0) => `${v >= 0 ? '+' : ''}${Number.isFinite(v) ? (digits ? v.toFixed(digits) : formatNumber(v)) : 'n/a'}`
  for (const { key, baseline, what } of OBSERVABILITY_ROWS) {
    for (const c of options.concurrency) {
      const mine = rows.find(r => r.target === key && r.concurrency === c)
      const base = rows.find(r => r.target === baseline && r.concurrency === c)
      if (!mine || !base) continue
      const cost: ObservabilityCost = {
        target: key, baseline, concurrency: c,
        throughputRatio: mine.rps / base.rps,
        pairedThroughputRatio: pairedMedian(measured, key, baseline, c, (m, b) => m.rps / b.rps),
        addedP50Us: (mine.p50 - base.p50) * 1000,
        pairedAddedP50Us: pairedMedian(measured, key, baseline, c, (m, b) => (m.p50 - b.p50) * 1000),
        addedServerUs: pairedMedian(measured, key, baseline, c, (m, b) => m.serverUs - b.serverUs),
        debugEventsPerCall: mine.debugEventsPerCall,
        debugDroppedPerCall: mine.debugDroppedPerCall,
        subscriberUs: mine.extraUs
      }
      costs.push(cost)
      const parts = [
        `throughput ${cost.throughputRatio.toFixed(3)}× (paired ${cost.pairedThroughputRatio.toFixed(3)}×; ${formatNumber(mine.rps)} vs ${formatNumber(base.rps)} req/s)`,
        `p50 ${signed(cost.addedP50Us)} µs (paired ${signed(cost.pairedAddedP50Us)})`,
        `gateway CPU ${signed(cost.addedServerUs)} µs/call`
      ]
      if (key === 'toolgate') {
        const met = Math.max(cost.throughputRatio, cost.pairedThroughputRatio) >= 0.95 && Math.min(cost.throughputRatio, cost.pairedThroughputRatio) >= 0.95
        parts.push(`target ≥ 0.95×: ${met ? 'met' : Math.max(cost.throughputRatio, cost.pairedThroughputRatio) >= 0.95 ? 'met by one measure only' : 'NOT met'}`)
      } else {
        parts.push(`${Number.isFinite(mine.debugEventsPerCall) ? mine.debugEventsPerCall.toFixed(2) : 'n/a'} events built/call, ${Number.isFinite(mine.debugDroppedPerCall) ? mine.debugDroppedPerCall.toFixed(2) : 'n/a'} dropped/call`)
        if (Number.isFinite(mine.extraUs)) parts.push(`subscriber process ${formatNumber(mine.extraUs)} µs CPU/call`)
      }
      lines.push(`  ${key.padEnd(20)} vs ${baseline.padEnd(20)} c=${String(c).padEnd(3)} ${parts.join(' · ')}`)
    }
  }
  // The zero-cost rule, seen from outside: the rounds without a subscriber built no event.
  const quiet = [...measured.entries()].filter(([k]) => k.startsWith('toolgate@') || k.startsWith('toolgate-notelemetry@')).flatMap(([, list]) => list).filter(r => Number.isFinite(r.debugEvents))
  if (lines.length > 0) {
    console.log('')
    console.log('Telemetry and the live debug console: cost per call against the same row without them (same run, interleaved rounds; ' +
      '"paired" = median of the per-round ratios/differences; target: telemetry costs under 5% of throughput):')
    for (const line of lines) console.log(line)
    if (quiet.length > 0) {
      const built = quiet.reduce((sum, r) => sum + r.debugEvents, 0)
      const calls = quiet.reduce((sum, r) => sum + r.ok, 0)
      console.log(`  without a subscriber (${quiet.length} rounds of toolgate and toolgate-notelemetry, ${formatNumber(calls)} calls): ` +
        `${built === 0 ? '0 debug events built (the zero-cost rule held)' : `${built} debug events built: the zero-cost rule is BROKEN`}`)
    }
  }
  return costs
}

/** The `toolgate` gateway's CPU per call at the highest level, for the observability micro-benchmark's shares. */
let gatewayUsPerCall: number | undefined

interface ObservabilityMicroModule {
  runObservabilityMicroBench (options: { quick?: boolean }): Promise<Array<{ variant: string, addedUs: number }>>
  formatObservabilityMicro (rows: unknown[], gatewayUsPerCall?: number): string
}

/** bench/observability-micro.ts (loaded like the interceptor one, so run.ts works in a checkout without it). */
async function observabilityMicroBenchmark (gatewayUs: number | undefined): Promise<unknown[] | undefined> {
  const specifier = './observability-micro.ts'
  let micro: ObservabilityMicroModule
  try {
    micro = await import(specifier) as ObservabilityMicroModule
  } catch (err) {
    console.log(`\nobservability micro-benchmark skipped: ${specifier} could not be loaded (${(err as Error).message.split('\n')[0]})`)
    return undefined
  }
  console.log('')
  console.log(`Telemetry and debug console micro-benchmark (bench/observability-micro.ts, this process, no HTTP; the per-call work routes/mcp.ts does; ${quick ? 'quick' : 'full'}):`)
  const rows = await micro.runObservabilityMicroBench({ quick })
  console.log(micro.formatObservabilityMicro(rows, gatewayUs))
  const telemetry = rows.find(r => r.variant === 'telemetry')
  if (telemetry && gatewayUs !== undefined && Number.isFinite(gatewayUs)) {
    const share = telemetry.addedUs / gatewayUs
    console.log(`  telemetry's share of the gateway's CPU per call (it is CPU-bound, so about its share of throughput): ${(share * 100).toFixed(2)}% (target < 5%: ${share < 0.05 ? 'met' : 'NOT met'})`)
  }
  return rows
}

interface MicroModule {
  runInterceptorMicroBench (options: { quick?: boolean }): Promise<Array<{ body: string, variant: string, addedUs: number }>>
  formatInterceptorMicroTable (rows: unknown[]): string
}

/** bench/interceptor-micro.ts, when this checkout has it (loaded by a computed specifier, so run.ts works without it). */
async function microBenchmark (): Promise<unknown[] | undefined> {
  const specifier = './interceptor-micro.ts'
  let micro: MicroModule
  try {
    micro = await import(specifier) as MicroModule
  } catch (err) {
    console.log(`\ninterceptor micro-benchmark skipped: ${specifier} could not be loaded (${(err as Error).message.split('\n')[0]})`)
    return undefined
  }
  console.log('')
  console.log(`Interceptor micro-benchmark (bench/interceptor-micro.ts, this process, ${quick ? 'quick' : 'full'}):`)
  const started = performance.now()
  const rows = await micro.runInterceptorMicroBench({ quick })
  console.log(micro.formatInterceptorMicroTable(rows))
  const jm = rows.find(r => r.body === '~1 KB' && r.variant === 'jmespath')
  const js = rows.find(r => r.body === '~1 KB' && r.variant === 'js')
  if (jm && js) {
    console.log(`targets for a 1 KB body (median added cost): JMESPath ≤ 20 µs: ${jm.addedUs.toFixed(1)} µs (${jm.addedUs <= 20 ? 'met' : 'NOT met'}); ` +
      `JS ≤ 60 µs: ${js.addedUs.toFixed(1)} µs (${js.addedUs <= 60 ? 'met' : 'NOT met'})`)
  }
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
  return rows
}

// ---------------------------------------------------------------------------------------------
// profiling

async function profile (): Promise<number> {
  const dir = flags['profile-dir'] ?? join(os.tmpdir(), `toolgate-bench-profiles-${Date.now().toString(36)}`)
  mkdirSync(dir, { recursive: true })
  const fileOf = (variant: string) => join(dir, `toolgate-${variant}.cpuprofile`)
  const execArgv = (variant: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=toolgate-${variant}.cpuprofile`, '--cpu-prof-interval=250']
  console.log(`Profiling the gateway (node --cpu-prof, 250 µs sampling) under tools/call load at c=32 for ${options.profileSeconds} s per log level`)
  console.log(`  node ${process.version}; profiles in ${dir}`)
  let setup: Setup | undefined
  try {
    // --targets picks which gateways to profile (toolgate, toolgate+log, candidate, toolgate-mcp).
    const gateways: TargetKey[] = process.argv.some(arg => arg.startsWith('--targets'))
      ? options.targets.filter(key => ['toolgate', 'toolgate+log', 'candidate', 'toolgate-mcp'].includes(key))
      : options.compare ? ['toolgate', 'toolgate+log', 'candidate'] : ['toolgate', 'toolgate+log']
    setup = await setUp('split', execArgv, gateways)
    const windows = new Map<TargetKey, { from: number, to: number, rps: number, machine: number }>()
    for (const target of setup.targets) {
      await target.client.round({ concurrency: 32, durationMs: Math.min(2000, options.warmupMs), maxRequests: options.maxRequests })
      if (options.quietWaitMs > 0) await waitForQuiet(options.quietThreshold, options.quietWaitMs)
      const from = (await target.server.cpu()).now
      const system = systemTicks()
      const result = await target.client.round({ concurrency: 32, durationMs: options.profileSeconds * 1000, maxRequests: 10_000_000 })
      const to = (await target.server.cpu()).now
      const machine = busyCores(system, systemTicks())
      if (result.errors > 0) throw new Error(`${target.key}: ${result.errors} failed requests while profiling: ${result.firstError}`)
      windows.set(target.key, { from, to, rps: result.rps, machine })
    }
    // Stopping the children makes them exit normally, which is when --cpu-prof writes.
    for (const target of setup.targets) await target.client.close()
    for (const proc of [...setup.procs].reverse()) await proc.stop()
    setup = undefined
    for (const [key, window] of windows) {
      const variant = key === 'toolgate' ? 'warn' : key === 'toolgate+log' ? 'info' : key === 'toolgate-mcp' ? 'mcp' : 'candidate'
      const file = fileOf(variant)
      const data = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
      console.log('')
      console.log(`=== ${key} (log level ${key === 'toolgate+log' ? 'info' : 'warn'}): ${formatNumber(window.rps)} req/s while profiled; whole machine ${window.machine.toFixed(2)} CPUs busy · ${file}`)
      console.log(summarizeProfile(data, { top: options.top, from: window.from, to: window.to, root: ROOT }))
    }
    return 0
  } finally {
    await tearDown(setup)
  }
}

// ---------------------------------------------------------------------------------------------

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(`bench/run.ts needs the project's Node 24 (this is ${process.version}): use npm run bench`)
  process.exit(1)
}

let interrupted = false
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) return
  interrupted = true
  console.error(`\n${signal}: stopping`)
  for (const child of children) child.kill('SIGTERM')
  stopTestCluster().finally(() => process.exit(130))
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

try {
  process.exitCode = flags.profile ? await profile() : await benchmark()
} catch (err) {
  console.error(err)
  process.exitCode = 1
}
