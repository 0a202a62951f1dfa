// The live debug console:
// - POST /api/v1/servers/:server/debug-token (admin token): a scoped token for one server's stream,
//   valid `ttlSeconds` (default 15 min, at most 1 h). Audited (never the token itself).
// - GET /api/v1/servers/:server/debug (admin token, or that server's debug token as a bearer header
//   or `?token=`, since a browser's EventSource cannot set headers): an SSE stream of the server's
//   call events (src/telemetry/debug-bus.ts). Volatile: nothing of it is logged or stored; the
//   request log line names the route pattern, never the URL with its query string.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DEBUG_TOKEN_DEFAULT_TTL_S, DEBUG_TOKEN_MAX_TTL_S, type DebugTokenClaims } from '../../../auth/debug-token.ts'
import { bearerToken } from '../../../auth/tokens.ts'
import { RESOURCE_NAME } from '../../../config/document.ts'
import { badRequest, forbidden, notFound, ToolgateError, unauthorized } from '../../../errors.ts'
import { recordAudit } from '../../../telemetry/audit.ts'
import { DebugStream } from '../../../telemetry/debug-stream.ts'
import type { GatewayDeps } from '../../deps.ts'
import { ADMIN_OR_DEBUG_TOKEN } from '../../plugins/admin-auth.ts'

/** Open debug streams per server on one replica (each holds at most TOOLGATE_DEBUG_MAX_QUEUE_BYTES). */
export const MAX_STREAMS_PER_SERVER = 16

const SERVER_NAME = new RegExp(RESOURCE_NAME)

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the debug stream's own auth hook: how the stream was opened. */
    debugAccess: { kind: 'admin' } | { kind: 'debug-token', claims: DebugTokenClaims } | null
  }
}

function serverParam (request: FastifyRequest): string {
  const server = (request.params as { server: string }).server
  if (!SERVER_NAME.test(server)) throw notFound(`server "${server}"`)
  return server
}

export function debugRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  const { debug, debugTokens, workspaceId } = deps
  const streams = new Set<DebugStream>()
  app.decorateRequest('debugAccess', null)
  // Streams never end on their own: end them when the server closes.
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.end()
  })

  app.post('/servers/:server/debug-token', async (request, reply) => {
    const server = serverParam(request)
    if (!deps.registry.server(server)) throw notFound(`server "${server}"`)
    const body = request.body as { ttlSeconds?: unknown } | undefined | null
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some(key => key !== 'ttlSeconds'))) {
      throw badRequest('The body is optional: {"ttlSeconds": <1 … 3600>}')
    }
    const ttlSeconds = body?.ttlSeconds ?? DEBUG_TOKEN_DEFAULT_TTL_S
    if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > DEBUG_TOKEN_MAX_TTL_S) {
      throw badRequest(`ttlSeconds: an integer from 1 to ${DEBUG_TOKEN_MAX_TTL_S}`)
    }
    const { token, claims } = debugTokens.issue(workspaceId, server, ttlSeconds)
    const expiresAt = new Date(claims.expiresAt).toISOString()
    await recordAudit(deps.db, { workspaceId, actor: 'admin', action: 'debug_token.create', target: server, details: { ttlSeconds, expiresAt } })
    return await reply.status(201).header('cache-control', 'no-store').send({
      token,
      server,
      expiresAt,
      url: `/api/v1/servers/${server}/debug?token=${encodeURIComponent(token)}`
    })
  })

  app.get('/servers/:server/debug', {
    config: { auth: ADMIN_OR_DEBUG_TOKEN },
    // A HEAD would open a stream that sends nothing.
    exposeHeadRoute: false,
    onRequest: async (request, reply) => {
      const server = (request.params as { server: string }).server
      const header = bearerToken(request.headers.authorization)
      const query = (request.query as { token?: unknown }).token
      // The admin token only as a header: a URL ends up in browser history and proxy logs, so a
      // browser gets a short-lived debug token for it instead.
      const presented = header ?? (typeof query === 'string' ? query : undefined)
      if (presented === undefined) {
        reply.header('www-authenticate', 'Bearer realm="toolgate-debug"')
        throw unauthorized('Missing credentials: the admin token (Authorization: Bearer …) or a debug token (bearer header or ?token=) from POST /api/v1/servers/:server/debug-token')
      }
      if (header !== undefined && await deps.adminTokens.verify(header)) {
        request.debugAccess = { kind: 'admin' }
        return
      }
      const check = debugTokens.verify(presented, workspaceId, server)
      if (check.ok) {
        request.debugAccess = { kind: 'debug-token', claims: check.claims }
        return
      }
      if (check.reason === 'other_server') throw forbidden(`This debug token is not valid for server "${server}"`)
      reply.header('www-authenticate', `Bearer realm="toolgate-debug", error="invalid_token"`)
      throw unauthorized(check.reason === 'expired' ? 'Debug token expired: mint a new one' : 'Invalid admin or debug token')
    }
  }, async (request, reply) => {
    const server = serverParam(request)
    if (!deps.registry.server(server)) throw notFound(`server "${server}"`)
    if (debug.subscriberCount(server) >= MAX_STREAMS_PER_SERVER) {
      throw new ToolgateError('TG_ERR_TOO_MANY_STREAMS', 429, `At most ${MAX_STREAMS_PER_SERVER} debug streams per server on one replica`)
    }
    const access = request.debugAccess!
    const endsAt = access.kind === 'debug-token' ? access.claims.expiresAt : undefined
    reply.hijack()
    const stream = new DebugStream(reply.raw, {
      server,
      replica: debug.replicaId,
      fanOut: debug.mode,
      access: access.kind,
      maxBodyBytes: debug.maxBodyBytes,
      ...(endsAt !== undefined ? { expiresAt: new Date(endsAt).toISOString() } : {})
    }, {
      maxQueueBytes: deps.settings.debugMaxQueueBytes,
      keepAliveMs: deps.settings.sseKeepAliveMs,
      stats: debug.stats,
      ...(endsAt !== undefined ? { endsAt } : {})
    })
    streams.add(stream)
    const unsubscribe = debug.subscribe(server, stream)
    stream.onClose(() => {
      unsubscribe()
      streams.delete(stream)
    })
    return reply
  })
}
