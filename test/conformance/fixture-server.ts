// The conformance fixture upstream: one MCP endpoint (`/mcp`) on loopback that serves every
// tool, resource and prompt the server scenarios of conformance 0.1.16 and 0.2.0-alpha.12 expect,
// in both protocol eras. It is what Toolgate puts behind a `remote-mcp` server; run on its own
// (`node test/conformance/fixture-server.ts [port]`) it is the reference the suites are first run
// against, to prove the fixture right before judging Toolgate with it.
//
// Era routing: a request with a session id or a 2025-era MCP-Protocol-Version, or an
// `initialize` without that header, goes to the stateful SDK-based face (fixture-legacy.ts);
// everything else to the stateless 2026-07-28 face (fixture-modern.ts), which reports its own
// header/_meta errors.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { fixtureChanges } from './fixture-changes.ts'
import { legacyFixture } from './fixture-legacy.ts'
import { legacySseFixture } from './fixture-legacy-sse.ts'
import { modernFixture } from './fixture-modern.ts'

export interface FixtureServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:41234/mcp */
  url: string
  /** The same fixture over the legacy HTTP+SSE transport (its GET /sse endpoint). */
  sseUrl: string
  close (): Promise<void>
}

const LEGACY_VERSIONS = new Set(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'])
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

function isLegacy (req: IncomingMessage, body: unknown): boolean {
  if (req.headers['mcp-session-id'] !== undefined) return true
  const version = req.headers['mcp-protocol-version']
  if (typeof version === 'string') return LEGACY_VERSIONS.has(version) // 2026-07-28 `initialize` is a 404
  const messages = Array.isArray(body) ? body : [body]
  return messages.some(m => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize')
}

/** DNS-rebinding protection (spec 2025-11-25 basic/security_best_practices): loopback names only. */
function hostAllowed (req: IncomingMessage): boolean {
  const hostname = (value: string) => {
    try { return new URL(value.includes('://') ? value : `http://${value}`).hostname } catch { return '' }
  }
  const host = req.headers.host
  if (host !== undefined && !LOCAL_HOSTS.has(hostname(host))) return false
  const origin = req.headers.origin
  return origin === undefined || LOCAL_HOSTS.has(hostname(origin))
}

async function readBody (req: IncomingMessage): Promise<{ text: string, json: unknown, parseError: boolean }> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text === '') return { text, json: undefined, parseError: false }
  try {
    return { text, json: JSON.parse(text), parseError: false }
  } catch {
    return { text, json: undefined, parseError: true }
  }
}

export async function startFixtureServer (port = 0): Promise<FixtureServer> {
  const changes = fixtureChanges()
  const legacy = legacyFixture(changes)
  const modern = modernFixture(changes)
  const sse = legacySseFixture(changes)

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://fixture').pathname
    if (path !== '/mcp' && path !== '/sse' && path !== '/messages') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    if (!hostAllowed(req)) {
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Forbidden: Host or Origin not allowed' } }))
      return
    }
    const body = req.method === 'POST' ? await readBody(req) : { text: '', json: undefined, parseError: false }
    if (body.parseError) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }))
      return
    }
    if (path === '/sse' && req.method === 'GET') await sse.open(req, res)
    else if (path === '/messages' && req.method === 'POST') await sse.post(req, res, body.json)
    else if (path !== '/mcp') res.writeHead(405, { allow: path === '/sse' ? 'GET' : 'POST' }).end()
    else if (isLegacy(req, body.json)) await legacy.handle(req, res, body.json)
    else await modern.handle(req, res, body.json)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(err => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: String(err) } }))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}/mcp`,
    sseUrl: `http://127.0.0.1:${address.port}/sse`,
    async close () {
      await sse.close()
      await legacy.close()
      modern.close()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

// Standalone: serve until Ctrl-C (for running the suites straight against the fixture).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const fixture = await startFixtureServer(Number(process.argv[2] ?? 0))
  console.log(`conformance fixture listening on ${fixture.url}`)
  const stop = () => { fixture.close().finally(() => process.exit(0)) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
