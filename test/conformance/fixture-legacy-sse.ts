// The fixture over the legacy HTTP+SSE transport (2024-11-05): `GET /sse` opens the event stream
// and announces `/messages?sessionId=…`, where the client POSTs. Same server as the Streamable
// HTTP face (createLegacyServer), so a `remote-mcp` server with `transport: sse` can be judged by
// the same scenarios.
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js'
import type { ListKind } from './fixture-changes.ts'
import { createLegacyServer } from './fixture-legacy.ts'

export interface LegacySseFixture {
  /** GET /sse */
  open (req: IncomingMessage, res: ServerResponse): Promise<void>
  /** POST /messages?sessionId=… */
  post (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>
  close (): Promise<void>
}

export function legacySseFixture (changes: EventEmitter<{ change: [ListKind] }>): LegacySseFixture {
  const transports = new Map<string, SSEServerTransport>()
  return {
    async open (_req, res) {
      const transport = new SSEServerTransport('/messages', res)
      transports.set(transport.sessionId, transport)
      transport.onclose = () => { transports.delete(transport.sessionId) }
      await createLegacyServer(() => {}, changes).connect(transport)
    },
    async post (req, res, body) {
      const sessionId = new URL(req.url ?? '/', 'http://fixture').searchParams.get('sessionId') ?? ''
      const transport = transports.get(sessionId)
      if (!transport) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('unknown session')
        return
      }
      await transport.handlePostMessage(req, res, body)
    },
    async close () {
      for (const transport of transports.values()) await transport.close().catch(() => {})
      transports.clear()
    }
  }
}
