// The fixture's 2026-07-28 face (stateless, per-request _meta). Placeholder until written.
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface ModernFixture {
  handle (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>
  close (): void
}

export function modernFixture (): ModernFixture {
  return {
    async handle (_req, res) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2025-11-25'] } } }))
    },
    close () {}
  }
}
