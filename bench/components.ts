// The three things the benchmark talks to, each startable in this process or in a child
// (bench/child.ts): the mock upstream, a bare one-hop reverse proxy, and a Toolgate gateway set up
// with a config, an API key and an MCP session. Everything listens on 127.0.0.1 only.
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { connect as netConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Pool } from 'undici'
import { loadSettings } from '../src/config/settings.ts'
import { KeyRing } from '../src/crypto/keyring.ts'
import { startGateway } from '../src/runtime.ts'
import { createLogger } from '../src/telemetry/logger.ts'
import { startFixtureServer } from '../test/fixtures/mcp-fixture-server.ts'
import { startMockUpstream } from '../test/fixtures/mock-upstream.ts'

/** The mock upstream's `/status/200?pad=N` answers 200 with `{"error":"status 200","detail":"x…x"}`, 34 + N bytes. */
export const BODY_PAD = 466
export const UPSTREAM_BODY_BYTES = 34 + BODY_PAD
export const UPSTREAM_PATH = `/status/200?pad=${BODY_PAD}`

export const ADMIN_TOKEN = 'tga_bench-admin-token-0123456789abcdef'
export const MCP_SERVER = 'bench'
export const TOOL_NAME = 'get_record'
export const PROTOCOL_VERSION = '2025-11-25'

export interface Started {
  url: string
  close (): Promise<void>
}

export interface StartedMcpUpstream extends Started {
  /** initialize requests the upstream has received so far (one per upstream session). */
  initializes (): number
}

export interface StartedGateway extends Started {
  apiKey: string
  /** The MCP session on the bench server (`bench`, or `bench-mcp` for the remote-mcp gateway). */
  sessionId: string
  /** A session per server of the gateway (the debug console rows call other servers). */
  sessions: Record<string, string>
  /** The debug bus's counters (events built, frames delivered and dropped). */
  debugStats (): DebugCounters
}

export interface DebugCounters {
  callsTraced: number
  eventsBuilt: number
  framesDelivered: number
  dropped: number
}

// Issue 6: the debug console rows. Servers of the api gateway with the `get_record` tool only,
// each with a subscriber connected for the whole run (bench/child.ts role `debug-reader`): on
// DEBUG_SERVER it reads everything; on DEBUG_SLOW_SERVER it never reads (its socket stalls and its
// frames are dropped). The `toolgate` rows, on MCP_SERVER, have no subscriber.
export const DEBUG_SERVER = 'bench-debug'
export const DEBUG_SLOW_SERVER = 'bench-debug-slow'

// ---------------------------------------------------------------------------------------------
// (a) the upstream

export async function startUpstream (): Promise<Started> {
  // record: false — the fixture would otherwise keep every request in memory.
  const upstream = await startMockUpstream({ record: false })
  return { url: upstream.url, close: () => upstream.close() }
}

// ---------------------------------------------------------------------------------------------
// (a') the upstream MCP server for the remote-mcp row: the test fixture (SDK 1.x server,
// Streamable HTTP, stateful sessions, JSON responses), tool `pad` answering a 500-byte text.

export const MCP_PAD_BYTES = UPSTREAM_BODY_BYTES
export const REMOTE_MCP_SERVER = 'bench-mcp'
export const MCP_TOOL_NAME = 'pad'

export async function startMcpUpstream (): Promise<StartedMcpUpstream> {
  const fixture = await startFixtureServer({ record: false, jsonResponse: true })
  return { url: fixture.url, initializes: () => fixture.initializes, close: () => fixture.close() }
}

export function mcpToolsCallBody (id = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: MCP_TOOL_NAME, arguments: { bytes: MCP_PAD_BYTES } } })
}

/** Opens an MCP session (initialize + initialized) at `url` with extra headers; returns its id. */
export async function openMcpSession (url: string, headers: Record<string, string> = {}): Promise<string> {
  const post = (extra: Record<string, string>, body: unknown) => fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers, ...extra },
    body: JSON.stringify(body)
  })
  const init = await expectOk(await post({}, {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'toolgate-bench', version: '1.0.0' } }
  }), 'initialize')
  const sessionId = init.headers.get('mcp-session-id')
  if (!sessionId) throw new Error(`initialize at ${url} returned no Mcp-Session-Id`)
  await init.text()
  await (await post({ 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION }, { jsonrpc: '2.0', method: 'notifications/initialized' })).text()
  return sessionId
}

// ---------------------------------------------------------------------------------------------
// (b) the bare one-hop reverse proxy: node:http in, undici Pool out, no MCP, no parsing.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'])

function forwardable (headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  }
  return out
}

export async function startBareProxy (upstreamUrl: string): Promise<Started> {
  // Same pool shape as Toolgate's (src/tools/pools.ts): keep-alive, 128 connections.
  const pool = new Pool(upstreamUrl, { connections: 128, keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0 })
  const server = createServer((req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    pool.request({ method: req.method as 'GET', path: req.url!, headers: forwardable(req.headers), body: hasBody ? req : null })
      .then(upstream => {
        res.writeHead(upstream.statusCode, forwardable(upstream.headers) as OutgoingHttpHeaders)
        upstream.body.pipe(res)
      }, () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
        res.end('bad gateway')
      })
  })
  // Longer than the gaps between one target's rounds, so warm client connections stay open.
  server.keepAliveTimeout = 65_000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await pool.destroy()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// (c) Toolgate

// Issue 4: interceptor rows. More tools on the same server (so the same gateway process serves the
// baselines and the interceptor rows, interleaved), each with a known answer the bench checks.
export const PAD_1KB = 1024 - 34
export const PAD_1MB = 1024 * 1024 - 34
export const TOOL_JMESPATH = 'get_record_jmespath'
export const TOOL_JS = 'get_record_js'
export const TOOL_LARGE = 'get_record_large'
export const TOOL_JS_LARGE = 'get_record_js_large'
/** Picks the two fields (one renamed): the output is about as large as the input, so the client reads the same bytes as for the baseline. */
export const JMESPATH_INTERCEPTOR = '{status: error, detail: detail}'
/** Reshapes the body (adds ctx.status, keeps both fields): output ≈ input, as for the JMESPath one. */
export const JS_INTERCEPTOR = '(input, ctx) => ({ status: ctx.status, error: input.error, detail: input.detail })'
/** Heap of each isolate of the JS interceptor: a ~1 MB body needs more than 32 MiB (input text, parsed copy, output text). */
export const JS_MEMORY_MB = 64
/**
 * Wall-time limit of the JS interceptor on the ~1 MB body. One run takes ~13 ms alone, but in the
 * first full run, on a shared 2-vCPU machine with about one CPU of other load, 4 calls at c=2 passed
 * the default 100 ms (isolated-vm counts wall time, so preemption counts). A bench must measure
 * successful calls, so that tool gets more room; the 1 KB tool keeps the default 100 ms.
 */
export const JS_LARGE_TIMEOUT_MS = 1000

/** A tools/call the bench sends to the api gateway, and the text content it must get back. */
export interface BenchCall {
  tool: string
  pad: number
  /** The result's text content: the upstream body, or the interceptor's output as JSON. */
  expectedText: string
}

function upstreamBody (pad: number): string {
  return JSON.stringify({ error: 'status 200', detail: 'x'.repeat(pad) })
}

/** Target key → the call it makes. `toolgate` and `toolgate+log` make the original one (500-byte body, no interceptor). */
export const BENCH_CALLS = {
  toolgate: { tool: TOOL_NAME, pad: BODY_PAD, expectedText: upstreamBody(BODY_PAD) },
  'toolgate+jmespath': { tool: TOOL_JMESPATH, pad: BODY_PAD, expectedText: JSON.stringify({ status: 'status 200', detail: 'x'.repeat(BODY_PAD) }) },
  'toolgate-1kb': { tool: TOOL_NAME, pad: PAD_1KB, expectedText: upstreamBody(PAD_1KB) },
  'toolgate+js-1kb': { tool: TOOL_JS, pad: PAD_1KB, expectedText: JSON.stringify({ status: 200, error: 'status 200', detail: 'x'.repeat(PAD_1KB) }) },
  'toolgate-1mb': { tool: TOOL_LARGE, pad: PAD_1MB, expectedText: upstreamBody(PAD_1MB) },
  'toolgate+js-1mb': { tool: TOOL_JS_LARGE, pad: PAD_1MB, expectedText: JSON.stringify({ status: 200, error: 'status 200', detail: 'x'.repeat(PAD_1MB) }) }
} satisfies Record<string, BenchCall>
export type BenchCallKey = keyof typeof BENCH_CALLS

/** The whole JSON-RPC answer to `callBody(call, id)` (the load generator compares it byte for byte). */
export function expectedCallResponse (call: BenchCall, id = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: call.expectedText }] } })
}

/**
 * One server: GET /status/{code}?pad=N on the mock upstream (path and query mapping, argument
 * validation), as `get_record` (no interceptor), `get_record_large` (the same, with pad allowed up
 * to 2 MB), `get_record_jmespath`, `get_record_js` and `get_record_js_large` (a response
 * interceptor each; the last is the JS one again, with a longer time limit, for the ~1 MB body).
 */
export function benchConfig (upstreamUrl: string): unknown {
  const tool = (name: string, maxPad: number, extra: Record<string, unknown> = {}) => ({
    name,
    provider: 'mock',
    method: 'GET',
    path: '/status/{code}',
    description: 'Fetch a small JSON record',
    input: {
      type: 'object',
      properties: { code: { type: 'string', pattern: '^[0-9]{3}$' }, pad: { type: 'integer', minimum: 0, maximum: maxPad } },
      required: ['code'],
      additionalProperties: false
    },
    ...extra
  })
  return {
    providers: [{ name: 'mock', baseUrl: upstreamUrl, headers: { Accept: 'application/json' } }],
    servers: [{
      name: MCP_SERVER,
      tools: [
        tool(TOOL_NAME, 100000),
        tool(TOOL_LARGE, 2_000_000),
        tool(TOOL_JMESPATH, 100000, { response: [{ name: 'bench-jmespath', jmespath: JMESPATH_INTERCEPTOR }] }),
        tool(TOOL_JS, 100000, { response: [{ name: 'bench-js', js: JS_INTERCEPTOR, memoryMb: JS_MEMORY_MB }] }),
        tool(TOOL_JS_LARGE, 2_000_000, { response: [{ name: 'bench-js-large', js: JS_INTERCEPTOR, memoryMb: JS_MEMORY_MB, timeoutMs: JS_LARGE_TIMEOUT_MS }] })
      ]
    }, ...[DEBUG_SERVER, DEBUG_SLOW_SERVER].map(name => ({ name, tools: [tool(TOOL_NAME, 100000)] }))]
  }
}

export const TOOL_ARGUMENTS = { code: '200', pad: BODY_PAD }

export function toolsCallBody (id = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: TOOL_NAME, arguments: TOOL_ARGUMENTS } })
}

export function callBody (call: BenchCall, id = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: call.tool, arguments: { code: '200', pad: call.pad } } })
}

export function mcpHeaders (gateway: { apiKey: string, sessionId: string }): Record<string, string> {
  return {
    authorization: `Bearer ${gateway.apiKey}`,
    'mcp-session-id': gateway.sessionId,
    'mcp-protocol-version': PROTOCOL_VERSION,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream'
  }
}

export interface GatewayOptions {
  databaseUrl: string
  upstreamUrl: string
  /** When set, the gateway serves a remote-mcp server in front of this MCP endpoint instead of the HTTP API. */
  mcpUpstreamUrl?: string
  /** pino level: 'warn' is quiet (no request lines), 'info' writes one line per request. */
  logLevel: string
  /** Where the log lines go; /dev/null by default. */
  logFile?: string
  /** false: TOOLGATE_TELEMETRY=off (no usage counting, no metrics). */
  telemetry?: boolean
}

async function expectOk (response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what} failed: ${response.status} ${await response.text()}`)
  return response
}

export async function startBenchGateway (options: GatewayOptions): Promise<StartedGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-bench-data-'))
  const settings = loadSettings({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl,
    TOOLGATE_DATA_DIR: dataDir,
    TOOLGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    TOOLGATE_ENCRYPTION_KEYS: KeyRing.generateSpec('bench'),
    LOG_LEVEL: options.logLevel,
    // The limiter stays on (it is on the production path); the budget is just out of reach.
    TOOLGATE_RATE_LIMIT_MCP: '1000000000/minute',
    ...(options.telemetry === false ? { TOOLGATE_TELEMETRY: 'off' } : {})
  })
  // A synchronous file destination, like pino's default stdout destination, minus the pipe.
  const logger = createLogger(settings.logLevel, pino.destination({ dest: options.logFile ?? '/dev/null', sync: true }))
  const gateway = await startGateway(settings, { logger })
  try {
    const admin = (method: string, path: string, body: unknown) => fetch(`${gateway.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    const remote = options.mcpUpstreamUrl !== undefined
    const serverName = remote ? REMOTE_MCP_SERVER : MCP_SERVER
    const config = remote
      ? { servers: [{ name: REMOTE_MCP_SERVER, kind: 'remote-mcp', url: options.mcpUpstreamUrl, transport: 'streamable-http' }] }
      : benchConfig(options.upstreamUrl)
    await expectOk(await admin('PUT', '/config', config), 'applying the bench config')
    const servers = remote ? [serverName] : [serverName, DEBUG_SERVER, DEBUG_SLOW_SERVER]
    const created = await expectOk(await admin('POST', '/api-keys', { endUser: 'bench', servers }), 'creating an API key')
    const apiKey = ((await created.json()) as { key: string }).key

    const mcpOn = (server: string, headers: Record<string, string>, body: unknown) => fetch(`${gateway.url}/mcp/${server}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body)
    })
    const mcp = (headers: Record<string, string>, body: unknown) => mcpOn(serverName, headers, body)
    const sessions: Record<string, string> = {}
    for (const server of servers) {
      const init = await expectOk(await mcpOn(server, {}, {
        jsonrpc: '2.0', id: 0, method: 'initialize',
        params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'toolgate-bench', version: '1.0.0' } }
      }), 'initialize')
      const id = init.headers.get('mcp-session-id')
      if (!id) throw new Error('initialize returned no Mcp-Session-Id')
      await init.text()
      await (await mcpOn(server, { 'mcp-session-id': id, 'mcp-protocol-version': PROTOCOL_VERSION }, { jsonrpc: '2.0', method: 'notifications/initialized' })).text()
      sessions[server] = id
    }
    const sessionId = sessions[serverName]!
    const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION }

    // Checked calls, one per tool: the bench must measure successful tool calls (the interceptor's
    // output, not an error), not fast errors.
    const probes: Array<{ body: string, check: (text: string | undefined) => boolean }> = remote
      ? [{ body: mcpToolsCallBody(0), check: text => text !== undefined && Buffer.byteLength(text) === MCP_PAD_BYTES }]
      : Object.values(BENCH_CALLS).map((call: BenchCall) => ({ body: callBody(call, 0), check: text => text === call.expectedText }))
    for (const { body, check } of probes) {
      const probe = await expectOk(await mcp(session, JSON.parse(body)), 'the probe tools/call')
      const answer = (await probe.json()) as { result?: { isError?: boolean, content?: Array<{ text?: string }> } }
      if (answer.result?.isError || !check(answer.result?.content?.[0]?.text)) {
        throw new Error(`the probe tools/call ${body.slice(0, 160)} did not return the expected text: ${JSON.stringify(answer).slice(0, 300)}`)
      }
    }

    return {
      url: gateway.url,
      apiKey,
      sessionId,
      sessions,
      debugStats: () => {
        const { callsTraced, eventsBuilt, framesDelivered, dropped } = gateway.debug.stats
        return { callsTraced, eventsBuilt, framesDelivered, dropped }
      },
      close: async () => {
        await gateway.close()
        await rm(dataDir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await gateway.close()
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }
}

// ---------------------------------------------------------------------------------------------
// (d) debug console subscribers for the debug rows: one that reads everything, one that stalls.

export interface DebugReaders extends Started {
  /** What the reading subscriber got: frames by type, bytes; and whether the stalled one is still connected. */
  counts (): { frames: number, calls: number, droppedEvents: number, droppedFrames: number, bytes: number, stalledOpen: boolean }
}

/** Opens `GET /api/v1/servers/<server>/debug` on a raw socket; resolves once its ready event has arrived. */
async function openDebugSocket (gatewayUrl: string, server: string, onData?: (text: string) => void): Promise<Socket> {
  const url = new URL(gatewayUrl)
  const socket = netConnect(Number(url.port), url.hostname)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.write(`GET /api/v1/servers/${server}/debug HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nAccept: text/event-stream\r\n\r\n`)
  let head = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`debug stream of ${server}: no ready event within 10 s`)), 10_000)
    const first = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      if (!head.includes('event: ready')) return
      clearTimeout(timer)
      socket.off('data', first)
      if (!head.startsWith('HTTP/1.1 200')) return reject(new Error(`debug stream of ${server}: ${head.split('\r\n')[0]}`))
      resolve()
    }
    socket.on('data', first)
  })
  if (onData) socket.on('data', (chunk: Buffer) => onData(chunk.toString('latin1')))
  return socket
}

export async function startDebugReaders (gatewayUrl: string): Promise<DebugReaders> {
  const counts = { frames: 0, calls: 0, droppedEvents: 0, droppedFrames: 0, bytes: 0, stalledOpen: true }
  // Frames end with a blank line (chunked-encoding lines sit between them and are skipped).
  let pending = ''
  const reader = await openDebugSocket(gatewayUrl, DEBUG_SERVER, text => {
    counts.bytes += text.length
    pending += text
    let end: number
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const frame = pending.slice(0, end)
      pending = pending.slice(end + 2)
      const at = frame.indexOf('event: ')
      if (at < 0) continue // a keep-alive comment
      const eol = frame.indexOf('\n', at)
      const type = frame.slice(at + 7, eol < 0 ? undefined : eol)
      counts.frames++
      if (type === 'result' || type === 'error') counts.calls++
      if (type === 'dropped') {
        counts.droppedEvents++
        const data = frame.indexOf('data: ')
        if (data >= 0) counts.droppedFrames += (JSON.parse(frame.slice(data + 6)) as { count: number }).count
      }
    }
  })
  // The stalled subscriber: reads its ready event, then never again.
  const stalled = await openDebugSocket(gatewayUrl, DEBUG_SLOW_SERVER)
  stalled.pause()
  stalled.once('close', () => { counts.stalledOpen = false })
  return {
    url: gatewayUrl,
    counts: () => ({ ...counts }),
    close: async () => {
      reader.destroy()
      stalled.destroy()
    }
  }
}
