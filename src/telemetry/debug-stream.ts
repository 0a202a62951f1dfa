// One live debug console subscriber: an SSE response that receives the bus's frames. Writing never
// waits. Frames are batched (one write per `batchMs`, or sooner past 64 KiB): a subscriber costs the
// gateway one socket write per batch rather than one per event. While the socket does not drain,
// frames stay in a bounded queue; once the queue is full, frames are dropped and counted, and when
// the socket has drained the queue is written, then one `dropped` event with the count. Memory per
// subscriber is therefore bounded by the queue limit plus what Node and the kernel hold for the
// socket; a subscriber that never reads costs nothing more.
import type { ServerResponse } from 'node:http'
import { SSE_HEADERS } from '../mcp/sse.ts'
import type { DebugBusStats, DebugSink } from './debug-bus.ts'

export interface DebugStreamOptions {
  /** Most characters of frames held while the socket is not draining (TOOLGATE_DEBUG_MAX_QUEUE_BYTES). */
  maxQueueBytes: number
  /** Most frames held, whatever their size. */
  maxQueueEvents?: number
  /** Interval of `: keep-alive` comments (0: none). */
  keepAliveMs: number
  /** Frames are written together at most this long after the first of them (default 20 ms; 0: at once). */
  batchMs?: number
  /** The stream ends at this time (ms since the epoch): when its scoped token expires. */
  endsAt?: number
  /** Where drops are counted too (the bus's stats). */
  stats?: DebugBusStats
}

const DEFAULT_MAX_QUEUE_EVENTS = 10_000
const DEFAULT_BATCH_MS = 20
/** A batch this large is written at once. */
const BATCH_BYTES = 64 * 1024

function frame (type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ts: Date.now(), ...data })}\n\n`
}

export class DebugStream implements DebugSink {
  private readonly res: ServerResponse
  private readonly maxQueueBytes: number
  private readonly maxQueueEvents: number
  private readonly batchMs: number
  private readonly busStats: DebugBusStats | undefined
  private readonly timers: NodeJS.Timeout[] = []
  private readonly closeHandlers: Array<() => void> = []
  /** Frames not yet written: the current batch, or what waits for the socket to drain. */
  private queue: string[] = []
  private queuedBytes = 0
  private flushTimer: NodeJS.Timeout | undefined
  /** The last write was not accepted whole: wait for 'drain'. */
  private blocked = false
  /** Frames dropped since the last `dropped` event. */
  private droppedSince = 0
  closed = false
  /** Frames written or queued, frames dropped (over the stream's life). */
  delivered = 0
  dropped = 0

  constructor (res: ServerResponse, ready: Record<string, unknown>, options: DebugStreamOptions) {
    this.res = res
    this.maxQueueBytes = options.maxQueueBytes
    this.maxQueueEvents = options.maxQueueEvents ?? DEFAULT_MAX_QUEUE_EVENTS
    this.batchMs = options.batchMs ?? DEFAULT_BATCH_MS
    this.busStats = options.stats
    res.writeHead(200, { ...SSE_HEADERS, 'cache-control': 'no-store, no-transform' })
    this.blocked = !res.write(frame('ready', ready))
    res.on('drain', () => this.drained())
    res.once('close', () => this.finish())
    res.on('error', () => this.finish())
    if (options.keepAliveMs > 0) {
      const keepAlive = setInterval(() => {
        if (!this.blocked && !this.closed && this.queue.length === 0) this.blocked = !res.write(': keep-alive\n\n')
      }, options.keepAliveMs)
      keepAlive.unref()
      this.timers.push(keepAlive)
    }
    if (options.endsAt !== undefined) {
      const end = setTimeout(() => {
        this.flush()
        if (!this.blocked && !this.closed) res.write(frame('expired', { message: 'The debug token of this stream expired' }))
        this.end()
      }, Math.max(0, options.endsAt - Date.now()))
      end.unref()
      this.timers.push(end)
    }
  }

  get queuedFrames (): number {
    return this.queue.length
  }

  deliver (text: string): void {
    if (this.closed) return
    if (this.blocked) {
      // Once dropping has begun, everything is dropped until the socket drains, so that the
      // `dropped` event marks exactly where frames are missing.
      if (this.droppedSince > 0 || this.queuedBytes + text.length > this.maxQueueBytes || this.queue.length >= this.maxQueueEvents) {
        this.droppedSince++
        this.dropped++
        if (this.busStats) this.busStats.dropped++
        return
      }
    }
    this.delivered++
    this.queue.push(text)
    this.queuedBytes += text.length
    if (this.blocked) return
    if (this.batchMs === 0 || this.queuedBytes >= BATCH_BYTES) this.flush()
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), this.batchMs)
      this.flushTimer.unref()
    }
  }

  /** Writes the queued frames in one write (unless the socket is not draining). */
  private flush (): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer)
      this.flushTimer = undefined
    }
    if (this.blocked || this.closed || this.queue.length === 0) return
    const text = this.queue.length === 1 ? this.queue[0]! : this.queue.join('')
    this.queue = []
    this.queuedBytes = 0
    this.blocked = !this.res.write(text)
  }

  private drained (): void {
    if (this.closed) return
    this.blocked = false
    this.flush()
    if (!this.blocked && this.droppedSince > 0) {
      const count = this.droppedSince
      this.droppedSince = 0
      this.blocked = !this.res.write(frame('dropped', { count, totalDropped: this.dropped }))
    }
  }

  onClose (handler: () => void): void {
    if (this.closed) handler()
    else this.closeHandlers.push(handler)
  }

  /**
   * Ends the stream from our side (shutdown, token expiry), after what is queued. A subscriber
   * that is not reading would hold a graceful end (and the server's close) forever: its
   * connection is cut instead.
   */
  end (): void {
    if (this.closed) return
    this.flush()
    if (this.blocked) this.res.destroy()
    else this.res.end()
    this.finish()
  }

  private finish (): void {
    if (this.closed) return
    this.closed = true
    this.queue = []
    this.queuedBytes = 0
    if (this.flushTimer) clearTimeout(this.flushTimer)
    for (const timer of this.timers) clearTimeout(timer)
    for (const handler of this.closeHandlers.splice(0)) handler()
  }
}
