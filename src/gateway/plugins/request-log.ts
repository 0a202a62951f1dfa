// One JSON line per request: ids, route, server, tool, status, sizes, timings. Never arguments,
// bodies, headers, tokens or client addresses (DESIGN promises 1 and 4).
import type { FastifyInstance, FastifyRequest } from 'fastify'

export interface CallLog {
  server?: string
  rpcMethod?: string
  tool?: string
  upstreamStatus?: number
  upstreamMs?: number
  upstreamBytes?: number
  errorKind?: string
  rpcError?: number
}

declare module 'fastify' {
  interface FastifyRequest {
    callLog: CallLog | null
  }
}

export function callLog (request: FastifyRequest): CallLog {
  request.callLog ??= {}
  return request.callLog
}

export function registerRequestLog (app: FastifyInstance): void {
  app.decorateRequest('callLog', null)
  app.addHook('onResponse', async (request, reply) => {
    const length = reply.getHeader('content-length')
    request.log.info({
      method: request.method,
      route: request.routeOptions.url ?? '(unmatched)',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      bytesIn: Number(request.headers['content-length'] ?? 0),
      bytesOut: length === undefined ? undefined : Number(length),
      ...request.callLog
    }, 'request')
  })
}
