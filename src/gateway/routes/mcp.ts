// /mcp/:server — Streamable HTTP for every protocol era on one endpoint.
// - Modern (2026-07-28): stateless POSTs; the body's `_meta` envelope names the version and the
//   routing headers must agree (mcp/modern.ts). `subscriptions/listen` holds an SSE stream.
// - Legacy (2024-11-05 … 2025-11-25): `initialize` issues a signed session id; GET opens a
//   notification stream; DELETE ends the session on every replica.
// The route parses and checks; mcp/dispatch answers methods.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../../auth/api-keys.ts'
import { bearerToken } from '../../auth/tokens.ts'
import { ToolgateError } from '../../errors.ts'
import { capabilities, dispatch, initialize, SERVER_VERSION, type DispatchContext } from '../../mcp/dispatch.ts'
import { InFlightRequests } from '../../mcp/in-flight.ts'
import {
  classify, errorResponse, resultResponse, RpcError, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, RATE_LIMITED, SERVER_ERROR,
  type JsonRpcId, type JsonRpcRequest, type JsonRpcResponse
} from '../../mcp/jsonrpc.ts'
import { classifyMessage, claimsEnvelope, idOf, META_SERVER_INFO, META_SUBSCRIPTION_ID, MISSING_CLIENT_CAPABILITY, type Rejection } from '../../mcp/modern.ts'
import { NotificationHub } from '../../mcp/notification-hub.ts'
import { declaresUrlElicitation } from '../../mcp/consent.ts'
import type { ConsentCompleted } from '../../oauth/flow.ts'
import type { SessionClaims } from '../../mcp/session.ts'
import { sseMessage, SseStream } from '../../mcp/sse.ts'
import { allowsBatches, isLegacyVersion, namesModernEra, type ProtocolVersion } from '../../mcp/versions.ts'
import type { CompiledServer } from '../../tools/compiled.ts'
import type { ListKind } from '../../upstreams/types.ts'
import type { GatewayDeps } from '../deps.ts'
import { toErrorBody } from '../plugins/error-handler.ts'
import { callLog } from '../plugins/request-log.ts'
import { workspaceRefusal } from '../plugins/workspace-gate.ts'
import { recordCall } from '../../telemetry/usage.ts'
import type { CallEnd, CallTrace } from '../../telemetry/debug-bus.ts'

declare module 'fastify' {
  interface FastifyRequest {
    mcpPrincipal: Principal | null
  }
}

/** How long a client should wait before reconnecting a dropped GET stream. */
const RECONNECT_MS = 3000
const MAX_SUBSCRIPTIONS_PER_SESSION = 100

function rpcCodeFor (status: number): number {
  if (status === 429) return RATE_LIMITED
  if (status === 400 || status === 413 || status === 415) return INVALID_REQUEST
  return SERVER_ERROR
}

function headerValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** A browser page on another origin must not drive the gateway (DNS rebinding, CSRF). */
export function originChecker (publicUrl: string, extra: string[]): (origin: string | undefined) => boolean {
  const allowed = new Set([new URL(publicUrl).origin, ...extra.map(o => o.replace(/\/+$/, ''))])
  return origin => origin === undefined || allowed.has(origin)
}

function acceptsOnlyEventStream (request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? ''
  return accept.includes('text/event-stream') && !accept.includes('application/json') && !accept.includes('*/*')
}

function acceptsEventStream (request: FastifyRequest): boolean {
  const accept = request.headers.accept
  return accept === undefined || accept.includes('text/event-stream') || accept.includes('*/*')
}

function send (request: FastifyRequest, reply: FastifyReply, status: number, payload: JsonRpcResponse | JsonRpcResponse[]): FastifyReply {
  const json = JSON.stringify(payload)
  // JSON unless the client accepts only an event stream (lenient with */* and missing Accept).
  if (acceptsOnlyEventStream(request)) {
    return reply.status(status)
      .header('content-type', 'text/event-stream')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(sseMessage(json))
  }
  return reply.status(status).header('content-type', 'application/json').send(json)
}

function sendError (request: FastifyRequest, reply: FastifyReply, status: number, code: number, message: string, id: JsonRpcId | null = null, data?: unknown): FastifyReply {
  return send(request, reply, status, errorResponse(id, code, message, data))
}

function sendRejection (request: FastifyRequest, reply: FastifyReply, rejection: Rejection, id: JsonRpcId | null): FastifyReply {
  callLog(request).rpcError = rejection.code
  return sendError(request, reply, rejection.status, rejection.code, rejection.message, id, rejection.data)
}

function sessionCaller (session: SessionClaims): { urlElicitation: boolean, sessionId: string } {
  return { urlElicitation: session.urlElicitation, sessionId: session.id }
}

/** The progress token of a request, when its client asked for progress. */
function progressToken (message: JsonRpcRequest): string | number | undefined {
  const meta = message.params?._meta as Record<string, unknown> | undefined
  const token = meta?.progressToken
  return typeof token === 'string' || typeof token === 'number' ? token : undefined
}

/** How a traced call ended, from what dispatch left in ctx.call. */
function traceEnd (ctx: DispatchContext, result: unknown): CallEnd {
  const outcome = ctx.call?.outcome
  const end: CallEnd = { result }
  if (outcome?.errorKind !== undefined) end.errorKind = outcome.errorKind
  if (outcome?.upstreamStatus !== undefined) end.upstreamStatus = outcome.upstreamStatus
  if (outcome?.intercepted) end.intercepted = outcome.intercepted
  const failure = outcome?.interceptorFailure ?? ctx.call?.interceptorFailure
  if (failure) end.interceptorFailure = failure
  return end
}

export async function mcpRoutes (app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const originAllowed = originChecker(deps.settings.publicUrl, deps.settings.allowedOrigins)
  const resourceMetadata = `Bearer realm="toolgate"`
  const inFlight = new InFlightRequests()
  const hub = new NotificationHub(deps.registry.current)
  const streams = new Set<{ close: () => void }>()

  // Config changes (from any replica, via the registry) and upstream list changes reach streams.
  const onConfig = (next: Parameters<NotificationHub['configChanged']>[0]) => hub.configChanged(next)
  const onUpstream = (serverName: string, kind: ListKind) => hub.publish(serverName, kind)
  const onResource = (serverName: string, uri: string) => hub.resourceUpdated(serverName, uri)
  deps.registry.on('changed', onConfig)
  deps.upstreams?.on('listChanged', onUpstream)
  deps.upstreams?.on('resourceUpdated', onResource)
  /**
   * Legacy sessions' resource subscriptions on this replica: session id → URI → release. Updates go
   * to the session's GET stream when it is open here (see the note in docs/ARCHITECTURE.md).
   */
  const resourceSubscriptions = new Map<string, Map<string, () => Promise<void>>>()
  const releaseAll = async (sessionId: string) => {
    const held = resourceSubscriptions.get(sessionId)
    resourceSubscriptions.delete(sessionId)
    for (const release of held?.values() ?? []) await release().catch(() => {})
  }
  // Long-lived streams would hold the server open: end them (gracefully, where the era says how).
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.close()
  })
  app.addHook('onClose', async () => {
    deps.registry.off('changed', onConfig)
    deps.upstreams?.off('listChanged', onUpstream)
    deps.upstreams?.off('resourceUpdated', onResource)
    for (const sessionId of [...resourceSubscriptions.keys()]) await releaseAll(sessionId)
  })

  // The raw text: JSON-RPC parse errors are ours to report (-32700), not Fastify's. JSON only:
  // Fastify's default text/plain parser would let other bodies through; they get 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: deps.settings.maxRequestBytes }, (_request, body, done) => done(null, body))
  app.decorateRequest('mcpPrincipal', null)

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toErrorBody(err as Error)
    if (status >= 500) request.log.error({ err: { type: (err as Error).name, message: (err as Error).message } }, 'mcp request failed')
    sendError(request, reply, status, rpcCodeFor(status), body.error.message)
  })

  // preParsing, not onRequest: @fastify/rate-limit adds its onRequest hook per route, and route
  // hooks run after instance hooks, so an onRequest check here would answer requests without a
  // valid key before the rate limit ever counted them (unlimited key guessing, one database
  // lookup each). preParsing still comes before the body is read.
  app.addHook('preParsing', async (request, reply) => {
    const server = (request.params as { server?: string }).server
    callLog(request).server = server
    if (!originAllowed(headerValue(request.headers.origin))) throw new ToolgateError('TG_ERR_ORIGIN', 403, 'Origin not allowed')
    const token = bearerToken(request.headers.authorization)
    if (!token) {
      reply.header('www-authenticate', resourceMetadata)
      throw new ToolgateError('TG_ERR_UNAUTHORIZED', 401, 'Missing API key: send Authorization: Bearer <key>')
    }
    const check = await deps.apiKeys.verify(token)
    if (!check.ok) {
      reply.header('www-authenticate', `${resourceMetadata}, error="invalid_token", error_description="API key ${check.reason}"`)
      throw new ToolgateError('TG_ERR_UNAUTHORIZED', 401, `API key ${check.reason}`)
    }
    if (check.principal.workspaceId !== deps.workspaceId || (check.principal.servers && server && !check.principal.servers.includes(server))) {
      throw new ToolgateError('TG_ERR_FORBIDDEN', 403, `This API key may not use server "${server}"`)
    }
    request.mcpPrincipal = check.principal
    // A workspace deleted (in its grace period, or purged with this key still cached) serves nothing.
    if (deps.workspace && !deps.workspace.active) throw workspaceRefusal(deps.workspace, true)
    if (deps.lastConnected && server !== undefined) {
      const compiled = deps.registry.server(server)
      if (compiled && (compiled.kind ?? 'api') === 'api') deps.lastConnected.touch(compiled.name)
    }
  })

  /** The session a legacy request names, or the reply that refuses it. */
  function legacySession (request: FastifyRequest, reply: FastifyReply, serverName: string): SessionClaims | FastifyReply {
    const sessionId = headerValue(request.headers['mcp-session-id'])
    if (!sessionId) return sendError(request, reply, 400, INVALID_REQUEST, 'Missing Mcp-Session-Id header: call initialize first')
    const session = deps.sessions.verify(sessionId)
    if (!session || session.principal !== request.mcpPrincipal!.apiKeyId || session.server !== serverName ||
      session.issuedAt + deps.settings.sessionMaxAgeMs <= Date.now() || deps.sessionTerminations.isTerminated(session.id)) {
      return sendError(request, reply, 404, SERVER_ERROR, 'Unknown session: initialize a new one')
    }
    // Any version we speak is accepted on a session (as the reference SDK does; the transport spec
    // requires 400 only for invalid or unsupported ones); answers keep the negotiated version's shape.
    const headerVersion = headerValue(request.headers['mcp-protocol-version'])
    if (headerVersion !== undefined && !isLegacyVersion(headerVersion)) {
      return sendError(request, reply, 400, INVALID_REQUEST, `Unsupported MCP-Protocol-Version "${headerVersion}"`)
    }
    return session
  }

  function context (server: CompiledServer, request: FastifyRequest, version: ProtocolVersion, signal: AbortSignal, caller: { urlElicitation: boolean, sessionId?: string }): DispatchContext {
    return {
      server, principal: request.mcpPrincipal!, version, pools: deps.pools, upstream: deps.upstreams?.get(server.name), signal, savings: deps.savings,
      tokens: deps.oauth.tokens, consentLinks: deps.oauth.links, ...caller
    }
  }

  /** Answers one request message; errors become JSON-RPC errors. Notifications return undefined. */
  async function answer (request: FastifyRequest, message: JsonRpcRequest, ctx: DispatchContext, session?: SessionClaims): Promise<JsonRpcResponse> {
    const log = callLog(request)
    log.rpcMethod ??= message.method
    const started = performance.now()
    let result: unknown
    let thrown: string | undefined
    // The live debug console: a trace only while some replica has a subscriber for this server;
    // otherwise nothing is built (src/telemetry/debug-bus.ts).
    const trace = message.method === 'tools/call' && deps.debug.hasSubscribers(ctx.server.name)
      ? startTrace(message, ctx, session)
      : undefined
    try {
      if (session && (message.method === 'resources/subscribe' || message.method === 'resources/unsubscribe')) {
        return resultResponse(message.id, await subscription(message, ctx, session))
      }
      result = await dispatch(message, ctx)
      trace?.finish(traceEnd(ctx, result))
      return resultResponse(message.id, result)
    } catch (err) {
      thrown = err instanceof RpcError ? 'rpc_error' : 'internal'
      if (err instanceof RpcError) {
        log.rpcError = err.code
        trace?.finish({ ...traceEnd(ctx, undefined), error: { code: err.code, message: err.message } })
        return errorResponse(message.id, err.code, err.message, err.data)
      }
      request.log.error({ err: { type: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack } }, 'dispatch failed')
      log.rpcError = INTERNAL_ERROR
      trace?.finish({ ...traceEnd(ctx, undefined), error: { code: INTERNAL_ERROR, message: 'Internal error' } })
      return errorResponse(message.id, INTERNAL_ERROR, 'Internal error')
    } finally {
      if (ctx.call) {
        log.tool = ctx.call.tool
        const outcome = ctx.call.outcome
        if (outcome) {
          log.upstreamStatus = outcome.upstreamStatus
          log.upstreamMs = Math.round(outcome.upstreamMs * 100) / 100
          log.upstreamBytes = outcome.upstreamBytes
          log.errorKind = outcome.errorKind
        }
        // Which interceptor failed and how: names and positions only (its message may quote the payload).
        const failure = outcome?.interceptorFailure ?? ctx.call.interceptorFailure
        if (failure) {
          log.errorKind = 'interceptor'
          log.interceptor = failure.logFields()
        }
        deps.metrics?.toolCall(ctx.server, ctx.call.tool, (performance.now() - started) / 1000, thrown !== undefined || outcome?.result.isError === true, outcome, ctx.upstream)
        if (deps.usage) recordCall(deps.usage, ctx.server.name, ctx.principal.endUserId, ctx.call, performance.now() - started, thrown, result)
        if (outcome && deps.upstreamFailures) deps.upstreamFailures.record(ctx.server.name, ctx.call.tool, outcome)
      }
    }
  }

  /** The debug trace of a tools/call (someone is subscribed), with its first event: the MCP request. */
  function startTrace (message: JsonRpcRequest, ctx: DispatchContext, session: SessionClaims | undefined): CallTrace | undefined {
    const name = message.params?.name
    const trace = deps.debug.startCall(ctx.server, typeof name === 'string' ? name : '', {
      endUserId: ctx.principal.endUserId, apiKeyId: ctx.principal.apiKeyId, sessionId: session?.id
    })
    if (!trace) return undefined
    ctx.debug = trace
    trace.mcpRequest(message.method, ctx.version, message.params)
    return trace
  }

  /** resources/subscribe and resources/unsubscribe of a legacy session. */
  async function subscription (message: JsonRpcRequest, ctx: DispatchContext, session: SessionClaims): Promise<Record<string, unknown>> {
    const uri = message.params?.uri
    if (typeof uri !== 'string') throw new RpcError(INVALID_PARAMS, `${message.method} needs params.uri (a string)`)
    const offered = await capabilities(ctx.server, ctx.upstream)
    if (!(offered.resources as { subscribe?: boolean } | undefined)?.subscribe) throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${message.method}`)
    let held = resourceSubscriptions.get(session.id)
    if (message.method === 'resources/unsubscribe') {
      const release = held?.get(uri)
      held?.delete(uri)
      await release?.()
      return {}
    }
    if (held?.has(uri)) return {}
    if ((held?.size ?? 0) >= MAX_SUBSCRIPTIONS_PER_SESSION) throw new RpcError(INVALID_REQUEST, `At most ${MAX_SUBSCRIPTIONS_PER_SESSION} resource subscriptions per session`)
    const release = await ctx.upstream!.subscribeResource(uri)
    if (!held) resourceSubscriptions.set(session.id, held = new Map())
    held.set(uri, release)
    return {}
  }

  /**
   * Answers a request whose client asked for progress and can read a stream: progress
   * notifications first, then the response, on one SSE response. Otherwise a plain response.
   */
  async function answerMaybeStreaming (request: FastifyRequest, reply: FastifyReply, message: JsonRpcRequest, ctx: DispatchContext, status: (response: JsonRpcResponse) => number, headers: Record<string, string> = {}, session?: SessionClaims): Promise<FastifyReply> {
    const token = progressToken(message)
    // Only upstream MCP servers report progress; an HTTP API call has nothing to report.
    if (token === undefined || !acceptsEventStream(request) || ctx.server.kind === undefined || ctx.server.kind === 'api') {
      const response = await answer(request, message, ctx, session)
      for (const [name, value] of Object.entries(headers)) reply.header(name, value)
      return send(request, reply, status(response), response)
    }
    reply.hijack()
    const stream = new SseStream(reply.raw, String(request.id), { keepAliveMs: deps.settings.sseKeepAliveMs, headers })
    ctx.onProgress = report => stream.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, ...report } })
    const response = await answer(request, message, ctx, session)
    stream.send(response)
    stream.end()
    return reply
  }

  // ── GET: the legacy era's server-to-client stream ─────────────────────────────────────────
  app.get('/mcp/:server', async (request, reply) => {
    const serverName = (request.params as { server: string }).server
    const headerVersion = headerValue(request.headers['mcp-protocol-version'])
    if (headerVersion !== undefined && namesModernEra(headerVersion)) {
      reply.header('allow', 'POST')
      return sendError(request, reply, 405, SERVER_ERROR, `Method not allowed: MCP ${headerVersion} is served by POST only`)
    }
    const server = deps.registry.server(serverName)
    if (!server) return sendError(request, reply, 404, SERVER_ERROR, `Unknown MCP server "${serverName}"`)
    if (!acceptsEventStream(request)) return sendError(request, reply, 406, INVALID_REQUEST, 'Not acceptable: the GET stream is text/event-stream')
    const session = legacySession(request, reply, serverName)
    if (!('id' in session)) return session

    reply.hijack()
    const stream = new SseStream(reply.raw, `${session.id}-${request.id}`, { keepAliveMs: deps.settings.sseKeepAliveMs, retryMs: RECONNECT_MS, prime: true })
    const unsubscribe = hub.open(serverName, {
      listChanged: kind => stream.send({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` }),
      resourceUpdated: uri => {
        if (resourceSubscriptions.get(session.id)?.has(uri)) stream.send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } })
      }
    })
    // Consent finished (on any replica) for an elicitation this session was sent: tell the client.
    const onConsent = (completed: ConsentCompleted) => {
      if (completed.sessionId === session.id) stream.send({ jsonrpc: '2.0', method: 'notifications/elicitation/complete', params: { elicitationId: completed.elicitationId } })
    }
    deps.oauth.completions.on('completed', onConsent)
    const handle = { close: () => stream.end() }
    streams.add(handle)
    stream.onClose(() => { unsubscribe(); deps.oauth.completions.off('completed', onConsent); streams.delete(handle) })
    return reply
  })

  // ── DELETE: ends a legacy session on every replica ────────────────────────────────────────
  app.delete('/mcp/:server', async (request, reply) => {
    const serverName = (request.params as { server: string }).server
    const headerVersion = headerValue(request.headers['mcp-protocol-version'])
    if (headerVersion !== undefined && namesModernEra(headerVersion)) {
      reply.header('allow', 'POST')
      return sendError(request, reply, 405, SERVER_ERROR, `Method not allowed: MCP ${headerVersion} has no sessions`)
    }
    const session = legacySession(request, reply, serverName)
    if (!('id' in session)) return session
    await deps.sessionTerminations.terminate(session.id, session.issuedAt + deps.settings.sessionMaxAgeMs)
    await releaseAll(session.id)
    return reply.status(204).send()
  })

  // ── POST: every message of every era ──────────────────────────────────────────────────────
  app.post('/mcp/:server', async (request, reply) => {
    const serverName = (request.params as { server: string }).server
    const server: CompiledServer | undefined = deps.registry.server(serverName)
    if (!server) return sendError(request, reply, 404, SERVER_ERROR, `Unknown MCP server "${serverName}"`)

    let parsed: unknown
    try {
      parsed = JSON.parse(request.body as string)
    } catch (err) {
      return sendError(request, reply, 400, PARSE_ERROR, `Parse error: ${(err as Error).message}`)
    }

    const abort = new AbortController()
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) abort.abort() })

    if (Array.isArray(parsed)) {
      if (parsed.some(claimsEnvelope)) return sendError(request, reply, 400, INVALID_REQUEST, 'JSON-RPC batches are not part of the stateless protocol (2026-07-28)')
      return await postLegacy(request, reply, server, parsed, abort)
    }
    if (parsed === null || typeof parsed !== 'object') return sendError(request, reply, 400, INVALID_REQUEST, 'Invalid request: a JSON-RPC message must be an object')

    const era = classifyMessage(parsed as Record<string, unknown>, {
      protocolVersion: headerValue(request.headers['mcp-protocol-version']),
      method: headerValue(request.headers['mcp-method']),
      name: headerValue(request.headers['mcp-name'])
    })
    if (era.era === 'rejected') return sendRejection(request, reply, era.rejection, idOf(parsed))
    if (era.era === 'legacy') return await postLegacy(request, reply, server, parsed, abort)

    // Modern: one stateless message.
    const incoming = classify(parsed)
    if (incoming.kind === 'invalid') return sendError(request, reply, 400, INVALID_REQUEST, `Invalid request: ${incoming.reason}`, incoming.id)
    if (incoming.kind === 'response') return sendError(request, reply, 400, INVALID_REQUEST, 'Invalid request: the stateless protocol takes no client responses')
    if (incoming.kind === 'notification') return reply.status(202).send() // cancellation is closing the request's stream
    const ctx = context(server, request, era.envelope.version, abort.signal, { urlElicitation: declaresUrlElicitation(era.envelope.clientCapabilities) })
    if (incoming.message.method === 'subscriptions/listen') return await listen(request, reply, incoming.message, ctx)
    return await answerMaybeStreaming(request, reply, incoming.message, ctx, response => {
      if (!('error' in response)) return 200
      if (response.error.code === METHOD_NOT_FOUND) return 404
      if (response.error.code === MISSING_CLIENT_CAPABILITY) return 400
      return 200
    })
  })

  async function postLegacy (request: FastifyRequest, reply: FastifyReply, server: CompiledServer, parsed: unknown, abort: AbortController): Promise<FastifyReply> {
    const headerVersion = headerValue(request.headers['mcp-protocol-version'])
    if (headerVersion !== undefined && !isLegacyVersion(headerVersion)) {
      return sendError(request, reply, 400, INVALID_REQUEST, `Unsupported MCP-Protocol-Version "${headerVersion}"`)
    }
    const single = Array.isArray(parsed) ? undefined : classify(parsed)
    if (single?.kind === 'request' && single.message.method === 'initialize') {
      callLog(request).rpcMethod = 'initialize'
      const { result, version } = await initialize(server, deps.upstreams?.get(server.name), single.message.params)
      const urlElicitation = declaresUrlElicitation((single.message.params as { capabilities?: unknown } | undefined)?.capabilities)
      reply.header('mcp-session-id', deps.sessions.issue(request.mcpPrincipal!.apiKeyId, server.name, version, Date.now(), urlElicitation))
      return send(request, reply, 200, resultResponse(single.message.id, result))
    }
    // A malformed message is reported as such, not as a missing session (a broken initialize would
    // otherwise be told to call initialize).
    if (single?.kind === 'invalid') return send(request, reply, 400, errorResponse(single.id, INVALID_REQUEST, `Invalid request: ${single.reason}`))

    const session = legacySession(request, reply, server.name)
    if (!('id' in session)) return session
    const version = session.version

    if (!Array.isArray(parsed)) {
      const incoming = single!
      if (incoming.kind === 'notification') {
        if (incoming.message.method === 'notifications/cancelled') inFlight.cancel(session.id, incoming.message.params?.requestId, incoming.message.params?.reason)
        return reply.status(202).send()
      }
      if (incoming.kind !== 'request') return reply.status(202).send() // client responses need no answer
      if (incoming.message.method === 'initialize') {
        return send(request, reply, 400, errorResponse(incoming.message.id, INVALID_REQUEST, 'initialize must come without a session'))
      }
      const done = inFlight.track(session.id, incoming.message.id, abort)
      try {
        return await answerMaybeStreaming(request, reply, incoming.message, context(server, request, version, abort.signal, sessionCaller(session)), () => 200, {}, session)
      } finally {
        done()
      }
    }

    if (!allowsBatches(version)) return sendError(request, reply, 400, INVALID_REQUEST, `JSON-RPC batches are not part of MCP ${version}`)
    if (parsed.length === 0) return sendError(request, reply, 400, INVALID_REQUEST, 'Invalid request: empty batch')
    const answers = await Promise.all(parsed.map(async (message): Promise<JsonRpcResponse | undefined> => {
      const incoming = classify(message)
      if (incoming.kind === 'invalid') return errorResponse(incoming.id, INVALID_REQUEST, `Invalid request: ${incoming.reason}`)
      if (incoming.kind === 'notification' && incoming.message.method === 'notifications/cancelled') {
        inFlight.cancel(session.id, incoming.message.params?.requestId, incoming.message.params?.reason)
      }
      if (incoming.kind !== 'request') return undefined
      if (incoming.message.method === 'initialize') {
        return errorResponse(incoming.message.id, INVALID_REQUEST, 'initialize must be the only message of its request and come without a session')
      }
      // Each request of a batch can be cancelled alone; all end when the HTTP request does.
      const own = new AbortController()
      const forward = () => own.abort()
      abort.signal.addEventListener('abort', forward, { once: true })
      const done = inFlight.track(session.id, incoming.message.id, own)
      try {
        return await answer(request, incoming.message, context(server, request, version, own.signal, sessionCaller(session)), session)
      } finally {
        done()
        abort.signal.removeEventListener('abort', forward)
      }
    }))
    const responses = answers.filter(a => a !== undefined)
    if (responses.length === 0) return reply.status(202).send()
    return send(request, reply, 200, responses)
  }

  /** subscriptions/listen (modern): an SSE stream of the list changes the client asked for. */
  async function listen (request: FastifyRequest, reply: FastifyReply, message: JsonRpcRequest, ctx: DispatchContext): Promise<FastifyReply> {
    callLog(request).rpcMethod = message.method
    const filter = message.params?.notifications
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
      return sendError(request, reply, 200, INVALID_PARAMS, 'Invalid params: subscriptions/listen needs params.notifications (a subscription filter)', message.id)
    }
    let offered: Record<string, unknown>
    try {
      offered = await capabilities(ctx.server, ctx.upstream)
    } catch (err) {
      if (!(err instanceof RpcError)) throw err
      return sendError(request, reply, 200, err.code, err.message, message.id)
    }
    const requested = filter as Record<string, unknown>
    const honored: Record<string, unknown> = {}
    const kinds = new Set<ListKind>()
    for (const kind of ['tools', 'resources', 'prompts'] as const) {
      if (requested[`${kind}ListChanged`] === true && offered[kind] !== undefined) {
        honored[`${kind}ListChanged`] = true
        kinds.add(kind)
      }
    }
    const uris = Array.isArray(requested.resourceSubscriptions) ? requested.resourceSubscriptions.filter((uri): uri is string => typeof uri === 'string') : []
    const releases: Array<() => Promise<void>> = []
    if (uris.length > 0 && (offered.resources as { subscribe?: boolean } | undefined)?.subscribe && ctx.upstream) {
      if (uris.length > MAX_SUBSCRIPTIONS_PER_SESSION) return sendError(request, reply, 200, INVALID_PARAMS, `At most ${MAX_SUBSCRIPTIONS_PER_SESSION} resource subscriptions per stream`, message.id)
      for (const uri of new Set(uris)) releases.push(await ctx.upstream.subscribeResource(uri))
      honored.resourceSubscriptions = [...new Set(uris)]
    }
    const subscribedUris = new Set(releases.length > 0 ? uris : [])
    const subscription = { [META_SUBSCRIPTION_ID]: message.id }
    reply.hijack()
    const stream = new SseStream(reply.raw, String(request.id), { keepAliveMs: deps.settings.sseKeepAliveMs })
    // The acknowledgement is the first message; every message carries the subscription id.
    stream.send({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: honored, _meta: subscription } })
    const finish = () => {
      stream.send({
        jsonrpc: '2.0',
        id: message.id,
        result: { resultType: 'complete', _meta: { ...subscription, [META_SERVER_INFO]: { name: `toolgate/${ctx.server.name}`, version: SERVER_VERSION } } }
      })
      stream.end()
    }
    if (kinds.size === 0 && subscribedUris.size === 0) {
      finish() // nothing could ever be delivered
      return reply
    }
    const unsubscribe = hub.open(ctx.server.name, {
      listChanged: kind => {
        if (kinds.has(kind)) stream.send({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed`, params: { _meta: subscription } })
      },
      resourceUpdated: uri => {
        if (subscribedUris.has(uri)) stream.send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri, _meta: subscription } })
      }
    })
    const handle = { close: finish }
    streams.add(handle)
    stream.onClose(() => {
      unsubscribe()
      streams.delete(handle)
      for (const release of releases) release().catch(() => {})
    })
    return reply
  }
}
