// POST /mcp/:server — Streamable HTTP. This route is thin: it checks origin, key, version and
// session, parses JSON-RPC, hands requests to mcp/dispatch and writes JSON or SSE as asked.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../../auth/api-keys.ts'
import { bearerToken } from '../../auth/tokens.ts'
import { ToolgateError } from '../../errors.ts'
import { dispatch, initialize, type DispatchContext } from '../../mcp/dispatch.ts'
import {
  classify, errorResponse, resultResponse, RpcError, INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, RATE_LIMITED, SERVER_ERROR,
  type JsonRpcResponse
} from '../../mcp/jsonrpc.ts'
import { sseMessage } from '../../mcp/sse.ts'
import { allowsBatches, isSupported, type ProtocolVersion } from '../../mcp/versions.ts'
import type { CompiledServer } from '../../tools/compiled.ts'
import type { GatewayDeps } from '../deps.ts'
import { toErrorBody } from '../plugins/error-handler.ts'
import { callLog } from '../plugins/request-log.ts'

declare module 'fastify' {
  interface FastifyRequest {
    mcpPrincipal: Principal | null
  }
}

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

function send (request: FastifyRequest, reply: FastifyReply, status: number, payload: JsonRpcResponse | JsonRpcResponse[]): FastifyReply {
  const json = JSON.stringify(payload)
  const accept = request.headers.accept ?? ''
  // JSON unless the client accepts only an event stream (lenient with */* and missing Accept).
  if (accept.includes('text/event-stream') && !accept.includes('application/json') && !accept.includes('*/*')) {
    return reply.status(status)
      .header('content-type', 'text/event-stream')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(sseMessage(json))
  }
  return reply.status(status).header('content-type', 'application/json').send(json)
}

function sendError (request: FastifyRequest, reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return send(request, reply, status, errorResponse(null, code, message))
}

async function answer (message: unknown, ctx: DispatchContext, request: FastifyRequest): Promise<JsonRpcResponse | undefined> {
  const incoming = classify(message)
  if (incoming.kind === 'invalid') return errorResponse(incoming.id, INVALID_REQUEST, `Invalid request: ${incoming.reason}`)
  if (incoming.kind !== 'request') return undefined // notifications and client responses need no answer
  const log = callLog(request)
  log.rpcMethod ??= incoming.message.method
  try {
    if (incoming.message.method === 'initialize') throw new RpcError(INVALID_REQUEST, 'initialize must be the only message of its request and come without a session')
    const result = await dispatch(incoming.message, ctx)
    return resultResponse(incoming.message.id, result)
  } catch (err) {
    if (err instanceof RpcError) {
      log.rpcError = err.code
      return errorResponse(incoming.message.id, err.code, err.message, err.data)
    }
    request.log.error({ err: { type: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack } }, 'dispatch failed')
    log.rpcError = INTERNAL_ERROR
    return errorResponse(incoming.message.id, INTERNAL_ERROR, 'Internal error')
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
    }
  }
}

export async function mcpRoutes (app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const originAllowed = originChecker(deps.settings.publicUrl, deps.settings.allowedOrigins)
  const resourceMetadata = `Bearer realm="toolgate"`

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
  })

  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', 'POST')
    throw new ToolgateError('TG_ERR_METHOD_NOT_ALLOWED', 405, 'This endpoint offers no server-initiated stream and no session deletion; use POST')
  }
  app.get('/mcp/:server', methodNotAllowed)
  app.delete('/mcp/:server', methodNotAllowed)

  app.post('/mcp/:server', async (request, reply) => {
    const serverName = (request.params as { server: string }).server
    const server: CompiledServer | undefined = deps.registry.server(serverName)
    if (!server) return sendError(request, reply, 404, SERVER_ERROR, `Unknown MCP server "${serverName}"`)
    const principal = request.mcpPrincipal!

    const headerVersion = headerValue(request.headers['mcp-protocol-version'])
    if (headerVersion !== undefined && !isSupported(headerVersion)) {
      return sendError(request, reply, 400, INVALID_REQUEST, `Unsupported MCP-Protocol-Version "${headerVersion}"`)
    }

    let parsed: unknown
    try {
      parsed = JSON.parse(request.body as string)
    } catch (err) {
      return sendError(request, reply, 400, PARSE_ERROR, `Parse error: ${(err as Error).message}`)
    }

    const single = Array.isArray(parsed) ? undefined : classify(parsed)
    if (single?.kind === 'request' && single.message.method === 'initialize') {
      callLog(request).rpcMethod = 'initialize'
      const { result, version } = initialize(server, single.message.params)
      reply.header('mcp-session-id', deps.sessions.issue(principal.apiKeyId, serverName, version))
      return send(request, reply, 200, resultResponse(single.message.id, result))
    }
    // A malformed message is reported as such, not as a missing session (a broken initialize would
    // otherwise be told to call initialize).
    if (single?.kind === 'invalid') return send(request, reply, 400, errorResponse(single.id, INVALID_REQUEST, `Invalid request: ${single.reason}`))

    const sessionId = headerValue(request.headers['mcp-session-id'])
    if (!sessionId) return sendError(request, reply, 400, INVALID_REQUEST, 'Missing Mcp-Session-Id header: call initialize first')
    const session = deps.sessions.verify(sessionId)
    if (!session || session.principal !== principal.apiKeyId || session.server !== serverName) {
      return sendError(request, reply, 404, SERVER_ERROR, 'Unknown session: initialize a new one')
    }
    const version: ProtocolVersion = session.version
    if (headerVersion !== undefined && headerVersion !== version) {
      return sendError(request, reply, 400, INVALID_REQUEST, `MCP-Protocol-Version "${headerVersion}" does not match the session's "${version}"`)
    }

    const abort = new AbortController()
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) abort.abort() })
    const ctx = (): DispatchContext => ({ server, principal, version, pools: deps.pools, signal: abort.signal })

    if (Array.isArray(parsed)) {
      if (!allowsBatches(version)) return sendError(request, reply, 400, INVALID_REQUEST, `JSON-RPC batches are not part of MCP ${version}`)
      if (parsed.length === 0) return sendError(request, reply, 400, INVALID_REQUEST, 'Invalid request: empty batch')
      const answers = (await Promise.all(parsed.map(message => answer(message, ctx(), request)))).filter(a => a !== undefined)
      if (answers.length === 0) return reply.status(202).send()
      return send(request, reply, 200, answers)
    }

    const response = await answer(parsed, ctx(), request)
    if (!response) return reply.status(202).send()
    return send(request, reply, 200, response)
  })
}
