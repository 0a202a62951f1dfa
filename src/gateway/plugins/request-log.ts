// One JSON line per request: ids, route, server, tool, status, sizes, timings. Never arguments,
// bodies, headers, tokens or client addresses (DESIGN promises 1 and 4).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'

export interface CallLog {
  server?: string
  rpcMethod?: string
  tool?: string
  upstreamStatus?: number
  upstreamMs?: number
  upstreamBytes?: number
  errorKind?: string
  rpcError?: number
  /** A failed interceptor: its name, label, failure kind and line; never its message. */
  interceptor?: { interceptor: string, label: string, kind: string, line?: number, column?: number }
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
  // The line is built from the whitelisted fields below only, so it skips the redaction pass
  // (wildcard redact paths cost a measurable share of each request).
  const lines = (app.log as Logger).child({}, { redact: [] })
  app.addHook('onResponse', async (request, reply) => {
    const length = reply.getHeader('content-length')
    if (!lines.isLevelEnabled('info')) return
    lines.info({
      reqId: request.id,
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
