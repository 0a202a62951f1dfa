// Requests in progress on this replica, by session and JSON-RPC id, so notifications/cancelled
// (which arrives in another HTTP request) can abort the upstream exchange. A cancel for a request
// on another replica finds nothing here and is ignored, as the spec allows for unknown ids.
import type { JsonRpcId } from './jsonrpc.ts'

export class InFlightRequests {
  private readonly controllers = new Map<string, AbortController>()

  private key (sessionId: string, id: JsonRpcId): string {
    return `${sessionId}\u0000${typeof id}:${id}`
  }

  /** Tracks a request until the returned function is called. */
  track (sessionId: string, id: JsonRpcId, controller: AbortController): () => void {
    const key = this.key(sessionId, id)
    this.controllers.set(key, controller)
    return () => {
      if (this.controllers.get(key) === controller) this.controllers.delete(key)
    }
  }

  /** Aborts the request if it is still running here. */
  cancel (sessionId: string, id: unknown, reason?: unknown): boolean {
    if (typeof id !== 'string' && typeof id !== 'number') return false
    const controller = this.controllers.get(this.key(sessionId, id))
    if (!controller) return false
    controller.abort(typeof reason === 'string' ? reason : 'cancelled by the client')
    return true
  }

  get size (): number {
    return this.controllers.size
  }
}
