// Graceful close with keep-alive clients. Fastify's close() waits for every connection to end:
// - a connection busy when close() starts would stay open after its response (MCP clients keep
//   them alive), so once closing, every response says `Connection: close`;
// - a connection that never carried a request (a client or load balancer opening one ahead of
//   use) is not "idle" to Node and would hold close() until the headers timeout (60 s), so
//   connections with no request in flight are ended when closing starts.
// Long-lived MCP streams are ended by the MCP routes' own preClose hook.
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'

export function registerDrain (app: FastifyInstance): void {
  let closing = false
  /** Open connections and how many requests each has in flight. */
  const inFlight = new Map<Socket, number>()
  app.server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0)
    socket.once('close', () => inFlight.delete(socket))
  })
  app.addHook('onRequest', async request => {
    const socket = request.raw.socket
    if (inFlight.has(socket)) inFlight.set(socket, inFlight.get(socket)! + 1)
  })
  app.addHook('onResponse', async request => {
    const socket = request.raw.socket
    const count = inFlight.get(socket)
    if (count !== undefined && count > 0) inFlight.set(socket, count - 1)
  })
  app.addHook('preClose', async () => {
    closing = true
    for (const [socket, count] of inFlight) if (count === 0) socket.destroy()
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
}
