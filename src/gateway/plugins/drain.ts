// Graceful close with keep-alive clients. Fastify's close() ends idle connections once, but a
// connection busy at that moment would stay open after its response (MCP clients keep them alive)
// and hold shutdown for the whole keep-alive timeout. Once closing, every response says
// `Connection: close`, so Node ends each connection as soon as its last response is written.
import type { FastifyInstance } from 'fastify'

export function registerDrain (app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
}
