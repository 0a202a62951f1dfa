// The live debug console's bus: tool calls publish one event per stage to the subscribers of their
// server (SSE streams, src/telemetry/debug-stream.ts), on this replica and, with REDIS_URL, on the
// others (src/telemetry/debug-fanout.ts). Held in memory only: nothing here is logged or stored.
//
// The zero-cost rule: a call asks `startCall()` first, which is one Map lookup (and one Set lookup
// with fan-out) and returns undefined when no replica has a subscriber for the server. The call
// path then holds `undefined` and every stage is an `options.debug?.…()` that does nothing: no
// event object, no serialisation, no copy of a body. Only a trace that exists builds events.
//
// Redaction: request headers named like credentials (Authorization, Proxy-Authorization, Cookie,
// …token…, …api-key…), the headers whose config template references a SECRET variable (computed at
// compile time, src/tools/compile.ts), query parameters named like credentials, and names the
// caller adds (an injected OAuth token's header or query parameter) are shown as "[redacted]".
// Then every SECRET value the server uses (and values the caller adds) is masked wherever it
// appears in the serialised event: as written, JSON-escaped, URL-encoded and base64-encoded.
import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { InterceptorFailure } from '../interceptors/index.ts'
import type { CompiledServer, CompiledTool, DebugRedaction } from '../tools/compiled.ts'
import { isJsonType, isTextType, mediaType } from '../tools/result.ts'
import { createRedactor, type Redactor } from '../upstreams/stdio-redact.ts'

export const REDACTED = '[redacted]'

export type DebugEventType = 'mcp_request' | 'upstream_request' | 'upstream_response' | 'result' | 'error'

/** Receives serialised SSE frames (`event: …\ndata: …\n\n`). Must neither block nor throw. */
export interface DebugSink {
  deliver (frame: string): void
}

/** Delivery to other replicas (Redis pub/sub). */
export interface DebugFanOut {
  readonly mode: string
  /** Whether some other replica has a subscriber for this server (kept up to date in the background). */
  hasRemote (server: string): boolean
  /** Sends a frame to the other replicas; never waits, never throws. */
  publish (server: string, frame: string): void
  /** The first local subscriber of a server came / the last one left. */
  localSubscribed (server: string): void
  localUnsubscribed (server: string): void
  close (): Promise<void>
}

/** A body or value in an event: whole as `json`, or as `text` / `base64` (cut at the size limit). */
export interface DebugPayload {
  /** Size of the whole thing in bytes (UTF-8 JSON for values). */
  bytes: number
  truncated: boolean
  json?: unknown
  text?: string
  base64?: string
}

/** More to hide in one call (an injected OAuth token: its header or query parameter, its value). */
export interface RedactExtra {
  headers?: readonly string[]
  query?: readonly string[]
  secrets?: readonly string[]
}

/**
 * The stages of an api tool call, as src/tools/execute.ts reports them (`CallOptions.debug`). Only
 * present while someone is subscribed; every method is cheap to skip and never throws.
 */
export interface CallDebug {
  upstreamRequest (tool: CompiledTool, path: string, headers: Record<string, string>, body: string | undefined, extra?: RedactExtra): void
  /** `body` undefined: not read (declared larger than the tool's limit). */
  upstreamResponse (tool: CompiledTool, status: number, headers: IncomingHttpHeaders, body: Buffer | undefined, bytes: number, upstreamMs: number): void
}

/** Header and query names whose values are credentials, whatever the config says. */
const CREDENTIAL_NAME = /^(?:authorization|proxy-authorization|cookie|set-cookie|proxy-authenticate|www-authenticate)$|token|secret|passw|api[-_]?key|session|credential|signature/i

/** Headers as shown in an event: credential-like names, and `names`, redacted. */
export function redactHeaders (headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, names?: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const lower = name.toLowerCase()
    out[name] = CREDENTIAL_NAME.test(lower) || names?.has(lower) ? REDACTED : Array.isArray(value) ? value.join(', ') : String(value)
  }
  return out
}

/** A URL or path with the values of credential-like query parameters, and of `names`, redacted (the rest kept as written). */
export function redactQuery (url: string, names?: ReadonlySet<string>): string {
  const at = url.indexOf('?')
  if (at < 0) return url
  const hash = url.indexOf('#', at)
  const query = url.slice(at + 1, hash < 0 ? undefined : hash)
  const pairs = query.split('&').map(pair => {
    const eq = pair.indexOf('=')
    if (eq < 0) return pair
    let name: string
    try { name = decodeURIComponent(pair.slice(0, eq).replaceAll('+', ' ')) } catch { name = pair.slice(0, eq) }
    return CREDENTIAL_NAME.test(name) || names?.has(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair
  })
  return url.slice(0, at + 1) + pairs.join('&') + (hash < 0 ? '' : url.slice(hash))
}

/** Secret values in every form we search for (createRedactor adds JSON-escaped and URL-encoded ones). */
function secretForms (secrets: Iterable<string>): string[] {
  const forms: string[] = []
  for (const secret of secrets) {
    // Very short values would mask ordinary text everywhere; such a "secret" protects nothing anyway.
    if (secret.length < 4) continue
    forms.push(secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'))
  }
  return forms
}

const NO_REDACTION: Redactor = createRedactor([], REDACTED)
const serverRedactors = new WeakMap<DebugRedaction, Redactor>()

function redactorOf (redaction: DebugRedaction | undefined, extra?: readonly string[]): Redactor {
  if (extra && extra.length > 0) return createRedactor(secretForms([...redaction?.secrets ?? [], ...extra]), REDACTED)
  if (!redaction || redaction.secrets.length === 0) return NO_REDACTION
  let redactor = serverRedactors.get(redaction)
  if (!redactor) serverRedactors.set(redaction, redactor = createRedactor(secretForms(redaction.secrets), REDACTED))
  return redactor
}

/** `text` cut to `max` UTF-8 bytes, with secrets masked first (on a window wide enough to catch one across the cut). */
function cutText (text: string, max: number, redactor: Redactor): string {
  const window = redactor.redact(text.length > max + redactor.longestSecret ? text.slice(0, max + redactor.longestSecret) : text)
  if (Buffer.byteLength(window) <= max) return window
  return Buffer.from(window).toString('utf8', 0, max)
}

function valuePayload (value: unknown, max: number, redactor: Redactor): DebugPayload {
  const text = JSON.stringify(value) ?? 'null'
  const bytes = Buffer.byteLength(text)
  if (bytes <= max) return { bytes, truncated: false, json: value }
  return { bytes, truncated: true, text: cutText(text, max, redactor) }
}

function textPayload (text: string, max: number, redactor: Redactor): DebugPayload {
  const bytes = Buffer.byteLength(text)
  return bytes <= max ? { bytes, truncated: false, text } : { bytes, truncated: true, text: cutText(text, max, redactor) }
}

function bodyPayload (body: Buffer, bytes: number, contentType: string | undefined, max: number, redactor: Redactor): DebugPayload {
  const type = mediaType(contentType)
  const truncated = body.length > max || bytes > body.length
  if (isJsonType(type) || isTextType(type)) {
    const text = body.length > max ? cutText(body.toString('utf8', 0, max + redactor.longestSecret), max, redactor) : body.toString('utf8')
    return { bytes, truncated, text }
  }
  return { bytes, truncated, base64: body.subarray(0, max).toString('base64') }
}

function headerValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

export interface CallIdentity {
  endUserId: string | null
  apiKeyId: string | null
  /** The legacy era's MCP session (its random id, not the signed header value). */
  sessionId?: string | undefined
}

/** How a call ended, as routes/mcp.ts knows it. */
export interface CallEnd {
  /** The JSON-RPC result the client got. */
  result?: unknown
  /** What dispatch threw instead (the client got a JSON-RPC error). */
  error?: { code: number, message: string }
  /** api tools: the error kind of the outcome. */
  errorKind?: string
  upstreamStatus?: number
  intercepted?: { bytesBefore: number, bytesAfter: number }
  interceptorFailure?: InterceptorFailure
}

/** One traced call: builds and publishes its events. Exists only while someone is subscribed. */
export class CallTrace implements CallDebug {
  readonly callId: string
  private readonly bus: DebugBus
  private readonly server: CompiledServer
  private readonly identity: CallIdentity
  private readonly started = performance.now()
  private tool: string
  private redactor: Redactor

  constructor (bus: DebugBus, callId: string, server: CompiledServer, tool: string, identity: CallIdentity) {
    this.bus = bus
    this.callId = callId
    this.server = server
    this.tool = tool
    this.identity = identity
    this.redactor = redactorOf(server.debugRedaction)
  }

  private emit (type: DebugEventType, fields: Record<string, unknown>): void {
    const event = {
      type,
      callId: this.callId,
      ts: Date.now(),
      server: this.server.name,
      tool: this.tool,
      endUserId: this.identity.endUserId,
      apiKeyId: this.identity.apiKeyId,
      ...(this.identity.sessionId !== undefined ? { sessionId: this.identity.sessionId } : {}),
      replica: this.bus.replicaId,
      ...fields
    }
    this.bus.publish(this.server.name, type, event, this.redactor)
  }

  /** Runs a stage's builder; a failure to build an event is counted, never the call's problem. */
  private guarded (build: () => void): void {
    try {
      build()
    } catch {
      this.bus.stats.buildErrors++
    }
  }

  /** Stage 1: the MCP request as the client sent it. */
  mcpRequest (method: string, protocolVersion: string, params: Record<string, unknown> | undefined): void {
    this.guarded(() => {
      this.emit('mcp_request', { method, protocolVersion, arguments: valuePayload(params?.arguments ?? {}, this.bus.maxBodyBytes, this.redactor) })
    })
  }

  /** Stage 2 of an api tool: the HTTP request about to go upstream. */
  upstreamRequest (tool: CompiledTool, path: string, headers: Record<string, string>, body: string | undefined, extra?: RedactExtra): void {
    this.guarded(() => {
      this.tool = tool.name
      if (extra?.secrets?.length) this.redactor = redactorOf(this.server.debugRedaction, extra.secrets)
      const names = new Set([...tool.debugRedaction?.headers ?? [], ...(extra?.headers ?? []).map(name => name.toLowerCase())])
      const query = extra?.query?.length ? new Set(extra.query) : undefined
      this.emit('upstream_request', {
        method: tool.method,
        url: redactQuery(tool.origin + path, query),
        headers: redactHeaders(headers, names),
        ...(body !== undefined ? { body: textPayload(body, this.bus.maxBodyBytes, this.redactor) } : {})
      })
    })
  }

  /** Stage 3 of an api tool: the upstream's answer (any status). */
  upstreamResponse (tool: CompiledTool, status: number, headers: IncomingHttpHeaders, body: Buffer | undefined, bytes: number, upstreamMs: number): void {
    this.guarded(() => {
      this.tool = tool.name
      this.emit('upstream_response', {
        status,
        ms: round(upstreamMs),
        headers: redactHeaders(headers),
        bytes,
        ...(body !== undefined
          ? { body: bodyPayload(body, bytes, headerValue(headers['content-type']), this.bus.maxBodyBytes, this.redactor) }
          : { bodyNotRead: `larger than the tool's limit (${tool.maxResponseBytes} bytes)` })
      })
    })
  }

  /**
   * Stages 2 and 3 of a remote-mcp / stdio tool: the forwarded tools/call and its answer. Runs
   * `call` (the forwarding) in between and returns or rethrows what it does.
   */
  async forward<T> (name: string, args: Record<string, unknown>, call: () => Promise<T>): Promise<T> {
    this.guarded(() => {
      const connection = this.server.upstream?.connection
      const upstreamName = Object.entries(this.server.upstream?.names.rename ?? {}).find(([, exposed]) => exposed === name)?.[0] ?? name
      const where = connection?.kind === 'remote-mcp'
        ? { url: redactQuery(connection.url), transport: connection.transport, headers: redactHeaders(connection.headers, new Set(this.server.debugRedaction?.headers)) }
        : connection?.kind === 'stdio' ? { url: `stdio:${connection.command}` } : {}
      this.emit('upstream_request', { method: 'tools/call', ...where, body: valuePayload({ name: upstreamName, arguments: args }, this.bus.maxBodyBytes, this.redactor) })
    })
    const started = performance.now()
    try {
      const result = await call()
      this.guarded(() => this.emit('upstream_response', { ms: round(performance.now() - started), body: valuePayload(result, this.bus.maxBodyBytes, this.redactor) }))
      return result
    } catch (err) {
      this.guarded(() => {
        const { code, message } = err as { code?: unknown, message?: unknown }
        this.emit('upstream_response', { ms: round(performance.now() - started), error: { ...(typeof code === 'number' ? { code } : {}), message: String(message ?? err) } })
      })
      throw err
    }
  }

  /** The tool's name changed (discovery's call_tool runs its target). */
  renamed (tool: string): void {
    this.tool = tool
  }

  /** Stage 4 or 5: the result the client got (after interceptors), or the error. One per call, last. */
  finish (end: CallEnd): void {
    this.guarded(() => {
      const ms = round(performance.now() - this.started)
      const max = this.bus.maxBodyBytes
      const isError = (end.result as { isError?: unknown } | undefined)?.isError === true
      const common = {
        ms,
        ...(end.upstreamStatus !== undefined ? { upstreamStatus: end.upstreamStatus } : {}),
        ...(end.intercepted ? { intercepted: end.intercepted } : {})
      }
      if (end.error === undefined && !isError && end.errorKind === undefined) {
        this.emit('result', { ...common, isError: false, result: valuePayload(end.result, max, this.redactor) })
        return
      }
      const kind = end.interceptorFailure ? 'interceptor' : end.errorKind ?? (end.error ? 'rpc_error' : 'tool_error')
      const text = firstText(end.result)
      this.emit('error', {
        ...common,
        kind,
        message: end.error?.message ?? (text === undefined ? '' : cutText(text, Math.min(max, 4096), this.redactor)),
        ...(end.error ? { rpcError: end.error } : { result: valuePayload(end.result, max, this.redactor) }),
        ...(end.interceptorFailure ? { interceptor: end.interceptorFailure.logFields() } : {})
      })
    })
  }
}

function firstText (result: unknown): string | undefined {
  const content = (result as { content?: Array<{ type?: string, text?: unknown }> } | undefined)?.content
  const item = Array.isArray(content) ? content.find(c => c?.type === 'text') : undefined
  return typeof item?.text === 'string' ? item.text : undefined
}

function round (ms: number): number {
  return Math.round(ms * 100) / 100
}

export interface DebugBusOptions {
  /** Bodies and values in events are cut at this many bytes (TOOLGATE_DEBUG_MAX_BODY_BYTES). */
  maxBodyBytes: number
}

export interface DebugBusStats {
  /** Calls for which a trace was made (some replica had a subscriber for the server). */
  callsTraced: number
  /** Event objects built and serialised. Stays 0 while nobody is subscribed (the zero-cost rule). */
  eventsBuilt: number
  /** Frames handed to local subscribers, from this replica or another. */
  framesDelivered: number
  /** Frames received from other replicas. */
  remoteFrames: number
  /** Frames dropped for slow subscribers (their queue was full). */
  dropped: number
  /** Events whose building failed (a bug; the call went on). */
  buildErrors: number
}

export class DebugBus {
  /** Tells this replica's frames apart from the others' on the shared channel. */
  readonly replicaId = randomBytes(6).toString('base64url')
  readonly maxBodyBytes: number
  readonly stats: DebugBusStats = { callsTraced: 0, eventsBuilt: 0, framesDelivered: 0, remoteFrames: 0, dropped: 0, buildErrors: 0 }
  private readonly sinks = new Map<string, Set<DebugSink>>()
  private fanOut: DebugFanOut | undefined
  private nextCall = 0

  constructor (options: DebugBusOptions) {
    this.maxBodyBytes = options.maxBodyBytes
  }

  get mode (): string {
    return this.fanOut?.mode ?? 'local'
  }

  attachFanOut (fanOut: DebugFanOut): void {
    this.fanOut = fanOut
    for (const server of this.sinks.keys()) fanOut.localSubscribed(server)
  }

  /** Whether (as far as this replica knows) another replica has a subscriber for this server. */
  hasRemoteSubscribers (server: string): boolean {
    return this.fanOut !== undefined && this.fanOut.hasRemote(server)
  }

  /** Whether a call on this server would be traced: a subscriber here, or (with fan-out) on another replica. */
  hasSubscribers (server: string): boolean {
    return this.sinks.has(server) || (this.fanOut !== undefined && this.fanOut.hasRemote(server))
  }

  /** The per-call publisher, or undefined (nothing to do, nothing built) when nobody is subscribed. */
  startCall (server: CompiledServer, tool: string, identity: CallIdentity): CallTrace | undefined {
    if (!this.hasSubscribers(server.name)) return undefined
    this.stats.callsTraced++
    return new CallTrace(this, `${this.replicaId}-${(++this.nextCall).toString(36)}`, server, tool, identity)
  }

  /** Local subscribers of a server (or of all servers). */
  subscriberCount (server?: string): number {
    if (server !== undefined) return this.sinks.get(server)?.size ?? 0
    let count = 0
    for (const set of this.sinks.values()) count += set.size
    return count
  }

  subscribe (server: string, sink: DebugSink): () => void {
    let set = this.sinks.get(server)
    if (!set) {
      this.sinks.set(server, set = new Set())
      this.fanOut?.localSubscribed(server)
    }
    set.add(sink)
    return () => {
      const current = this.sinks.get(server)
      if (!current?.delete(sink) || current.size > 0) return
      this.sinks.delete(server)
      this.fanOut?.localUnsubscribed(server)
    }
  }

  /** Serialises an event once (secrets masked) and hands the frame to every subscriber, here and elsewhere. */
  publish (server: string, type: string, event: object, redactor: Redactor = NO_REDACTION): void {
    this.stats.eventsBuilt++
    const frame = `event: ${type}\ndata: ${redactor.redact(JSON.stringify(event))}\n\n`
    this.deliverLocal(server, frame)
    if (this.fanOut?.hasRemote(server)) this.fanOut.publish(server, frame)
  }

  /** A frame another replica published (our own never come back through here: the fan-out drops them). */
  deliverRemote (server: string, frame: string): void {
    this.stats.remoteFrames++
    this.deliverLocal(server, frame)
  }

  private deliverLocal (server: string, frame: string): void {
    const set = this.sinks.get(server)
    if (!set) return
    for (const sink of set) {
      this.stats.framesDelivered++
      sink.deliver(frame)
    }
  }

  async close (): Promise<void> {
    await this.fanOut?.close()
  }
}
