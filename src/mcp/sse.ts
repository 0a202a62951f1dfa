// Server-Sent Events for Streamable HTTP: one-shot response framing, and long-lived streams
// (legacy GET streams, modern subscriptions/listen, POST responses that carry progress first).
import type { ServerResponse } from 'node:http'

export function sseMessage (json: string, eventId?: string): string {
  // JSON.stringify never emits raw line breaks, so one data line carries the whole message.
  return (eventId ? `id: ${eventId}\n` : '') + `event: message\ndata: ${json}\n\n`
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  // Reverse proxies (nginx) would otherwise buffer the stream and delay every event.
  'x-accel-buffering': 'no'
} as const

export interface SseStreamOptions {
  /** Comment frames at this interval keep idle proxies and load balancers from cutting the stream. */
  keepAliveMs: number
  /** Sent as `retry:` with the priming event: how long a client waits before reconnecting. */
  retryMs?: number
  /** Extra response headers (e.g. mcp-session-id). */
  headers?: Record<string, string>
  /** Sends the priming event (an id and empty data) first, so the client can resume later. */
  prime?: boolean
}

/** A stream on a raw response that Fastify no longer manages (the reply was hijacked). */
export class SseStream {
  private readonly res: ServerResponse
  private readonly keepAlive: NodeJS.Timeout | undefined
  private nextEventId = 1
  private readonly streamId: string
  closed = false
  private readonly closeHandlers: Array<() => void> = []

  constructor (res: ServerResponse, streamId: string, options: SseStreamOptions) {
    this.res = res
    this.streamId = streamId
    res.writeHead(200, { ...SSE_HEADERS, ...options.headers })
    if (options.prime) res.write(`id: ${this.eventId()}\n${options.retryMs !== undefined ? `retry: ${options.retryMs}\n` : ''}data: \n\n`)
    else res.flushHeaders()
    if (options.keepAliveMs > 0) {
      this.keepAlive = setInterval(() => { if (!this.closed) res.write(': keep-alive\n\n') }, options.keepAliveMs)
      this.keepAlive.unref()
    }
    res.once('close', () => this.finish())
  }

  private eventId (): string {
    return `${this.streamId}-${this.nextEventId++}`
  }

  /** Writes one JSON-RPC message. */
  send (message: unknown): void {
    if (this.closed) return
    this.res.write(sseMessage(JSON.stringify(message), this.eventId()))
  }

  onClose (handler: () => void): void {
    if (this.closed) handler()
    else this.closeHandlers.push(handler)
  }

  /** Ends the stream from our side. */
  end (): void {
    if (this.closed) return
    this.res.end()
    this.finish()
  }

  private finish (): void {
    if (this.closed) return
    this.closed = true
    if (this.keepAlive) clearInterval(this.keepAlive)
    for (const handler of this.closeHandlers.splice(0)) handler()
  }
}
