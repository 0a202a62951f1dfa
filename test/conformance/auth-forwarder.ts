// A loopback forwarder that adds `Authorization: Bearer <key>` to every request and passes
// everything else through untouched, in both directions and streaming.
//
// Why it exists: Toolgate's MCP endpoint requires an API key, and neither conformance CLI
// (0.1.16, 0.2.0-alpha.12) has an option or environment variable for an extra request header:
// the server scenarios build their own fetch/undici calls. The forwarder is the runner's "MCP
// client with a key". It keeps the client's Host and Origin headers as sent (the
// dns-rebinding-protection scenario depends on them reaching Toolgate), does not buffer SSE,
// and closes the upstream request when the client goes away (cancellation/stream scenarios).
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface AuthForwarder {
  /** The forwarder's own origin, e.g. http://127.0.0.1:41234 (no trailing slash). */
  origin: string
  /**
   * Where requests go from now on (the gateway's origin) and the key to add. Set after start:
   * the gateway must know the forwarder's origin (its public URL) before it starts.
   */
  route (targetOrigin: string, apiKey: string): void
  close (): Promise<void>
}

// Hop-by-hop headers are the connection's own business (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'])

function forwardableHeaders (headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue
    out[name] = value
  }
  return out
}

export async function startAuthForwarder (): Promise<AuthForwarder> {
  let target: URL | undefined
  let apiKey = ''

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!target) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('forwarder has no target yet')
      return
    }
    const headers = forwardableHeaders(req.headers)
    headers.authorization = `Bearer ${apiKey}`
    const upstream = httpRequest({
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers, // carries the client's own Host header
      setHost: false
    }, upstreamRes => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardableHeaders(upstreamRes.headers))
      res.flushHeaders() // an SSE stream's headers must reach the client before its first event
      upstreamRes.pipe(res)
      upstreamRes.on('error', () => res.destroy())
    })
    upstream.on('error', err => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`forwarder: ${err.message}`)
      else res.destroy()
    })
    // The client hanging up (a cancelled GET stream, a timed-out scenario) ends the upstream request too.
    res.on('close', () => { if (!res.writableFinished) upstream.destroy() })
    req.pipe(upstream)
  }

  const server: Server = createServer(handle)
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    route (origin, key) {
      target = new URL(origin)
      apiKey = key
    },
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
