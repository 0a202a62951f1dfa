// Debug console events across replicas (REDIS_URL): Redis pub/sub, which keeps nothing. Each
// server's events go to the channel `toolgate:debug:<workspace>:<server>` as
// `<replica id>\n<SSE frame>`; every replica with a local subscriber of that server is subscribed
// to the channel, hands frames from other replicas to its subscribers as they are (no parsing) and
// drops its own (it delivered them locally already), so each subscriber gets each event once.
//
// Publishing costs nothing while no other replica listens: the hot path checks an in-memory Set
// of servers that have a remote subscriber. The Set is refreshed in the background from Redis
// itself — `PUBSUB CHANNELS toolgate:debug:<workspace>:*` lists the channels someone is subscribed
// to, and `PUBSUB NUMSUB` tells, for channels this replica is subscribed to as well, whether anyone
// else is — every `pollMs`, and at once when a replica announces a change on the presence channel
// `toolgate:debug-presence:<workspace>` (it does when its first subscriber of a server comes and its
// last one goes). So presence needs no keys, no heartbeats and no cleanup: a replica that dies
// drops its connections and with them its subscriptions.
//
// Redis down: publishing is skipped (commands are never queued while disconnected), remote
// presence is forgotten, subscribers keep getting their own replica's events, one warning is
// logged (no payloads), and ioredis reconnects in the background; after a reconnect the
// subscriptions are made again.
import { Redis } from 'ioredis'
import type { DebugFanOut } from './debug-bus.ts'

export interface FanOutLogger {
  warn (obj: object, msg: string): void
  info (obj: object, msg: string): void
}

export interface RedisFanOutOptions {
  url: string
  workspaceId: string
  /** This replica's id (the bus's): frames that carry it are ours. */
  replicaId: string
  /** Hands a frame from another replica to this replica's subscribers of `server`. */
  deliver: (server: string, frame: string) => void
  logger: FanOutLogger
  /** Interval of the presence refresh (default 1000 ms). */
  pollMs?: number
  /** Bounds on publishes awaiting Redis's answer; past them frames are not fanned out (counted). */
  maxInFlight?: number
  maxInFlightBytes?: number
}

export interface FanOutStats {
  published: number
  publishFailures: number
  /** Frames not fanned out because too many publishes were awaiting Redis. */
  skipped: number
  /** Frames from other replicas handed to local subscribers. */
  received: number
  polls: number
}

function globEscape (text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

export class RedisFanOut implements DebugFanOut {
  readonly mode = 'redis'
  readonly stats: FanOutStats = { published: 0, publishFailures: 0, skipped: 0, received: 0, polls: 0 }
  private readonly prefix: string
  private readonly presenceChannel: string
  private readonly own: string
  private readonly replicaId: string
  private readonly deliver: RedisFanOutOptions['deliver']
  private readonly logger: FanOutLogger
  private readonly maxInFlight: number
  private readonly maxInFlightBytes: number
  private readonly pub: Redis
  private readonly sub: Redis
  /** Servers some other replica has a subscriber for. */
  private remote = new Set<string>()
  /** Servers this replica has subscribers for, and those whose channel subscription Redis confirmed. */
  private readonly local = new Set<string>()
  private readonly confirmed = new Set<string>()
  private inFlight = 0
  private inFlightBytes = 0
  private readonly timer: NodeJS.Timeout
  private soon: NodeJS.Timeout | undefined
  private polling = false
  private pollAgain = false
  private down = false
  private closed = false

  constructor (options: RedisFanOutOptions) {
    this.prefix = `toolgate:debug:${options.workspaceId}:`
    this.presenceChannel = `toolgate:debug-presence:${options.workspaceId}`
    this.replicaId = options.replicaId
    this.own = `${options.replicaId}\n`
    this.deliver = options.deliver
    this.logger = options.logger
    this.maxInFlight = options.maxInFlight ?? 1000
    this.maxInFlightBytes = options.maxInFlightBytes ?? 16 * 1024 * 1024
    // No offline queue: while disconnected a command fails at once instead of piling up in memory.
    // Subscriptions are remade by hand on every 'ready' (autoResubscribe would not know about the
    // ones that failed while disconnected).
    const common = { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResubscribe: false, connectionName: 'toolgate-debug' }
    this.pub = new Redis(options.url, common)
    this.sub = new Redis(options.url, common)
    for (const connection of [this.pub, this.sub]) connection.on('error', (err: Error) => this.unavailable(err.message))
    this.pub.on('close', () => { this.remote = new Set() })
    this.pub.on('ready', () => {
      this.available()
      this.pollSoon()
    })
    this.sub.on('ready', () => this.resubscribe())
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message))
    this.timer = setInterval(() => { void this.poll() }, options.pollMs ?? 1000)
    this.timer.unref()
  }

  /** Whether Redis is connected for publishing. */
  get connected (): boolean {
    return this.pub.status === 'ready'
  }

  hasRemote (server: string): boolean {
    return this.remote.has(server)
  }

  publish (server: string, frame: string): void {
    if (this.pub.status !== 'ready') return
    if (this.inFlight >= this.maxInFlight || this.inFlightBytes + frame.length > this.maxInFlightBytes) {
      this.stats.skipped++
      return
    }
    this.inFlight++
    this.inFlightBytes += frame.length
    this.pub.publish(this.prefix + server, this.own + frame).then(() => {
      this.stats.published++
    }, () => {
      this.stats.publishFailures++
    }).finally(() => {
      this.inFlight--
      this.inFlightBytes -= frame.length
    })
  }

  localSubscribed (server: string): void {
    this.local.add(server)
    if (this.sub.status === 'ready') {
      this.sub.subscribe(this.prefix + server).then(() => {
        if (this.local.has(server)) this.confirmed.add(server)
        this.announce()
      }, () => {})
    }
  }

  localUnsubscribed (server: string): void {
    this.local.delete(server)
    this.confirmed.delete(server)
    if (this.sub.status === 'ready') this.sub.unsubscribe(this.prefix + server).then(() => this.announce(), () => {})
  }

  private onMessage (channel: string, message: string): void {
    if (channel === this.presenceChannel) {
      if (message !== this.replicaId) this.pollSoon()
      return
    }
    if (!channel.startsWith(this.prefix) || message.startsWith(this.own)) return
    const newline = message.indexOf('\n')
    if (newline < 0) return
    const server = channel.slice(this.prefix.length)
    if (!this.local.has(server)) return
    this.stats.received++
    this.deliver(server, message.slice(newline + 1))
  }

  /** Tells the other replicas to refresh their presence view now. */
  private announce (): void {
    if (this.pub.status === 'ready') this.pub.publish(this.presenceChannel, this.replicaId).catch(() => {})
  }

  private resubscribe (): void {
    this.confirmed.clear()
    const servers = [...this.local]
    this.sub.subscribe(this.presenceChannel, ...servers.map(server => this.prefix + server)).then(() => {
      for (const server of servers) if (this.local.has(server)) this.confirmed.add(server)
      this.announce()
    }, () => {})
  }

  private pollSoon (): void {
    if (this.soon || this.closed) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.poll()
    }, 10)
    this.soon.unref()
  }

  /** Refreshes `remote` from Redis (see the top of this file). */
  async poll (): Promise<void> {
    if (this.closed) return
    if (this.polling) {
      this.pollAgain = true
      return
    }
    if (this.pub.status !== 'ready') {
      this.remote = new Set()
      return
    }
    this.polling = true
    try {
      this.stats.polls++
      const channels = await this.pub.pubsub('CHANNELS', `${globEscape(this.prefix)}*`) as string[]
      const servers = channels.filter(channel => channel.startsWith(this.prefix)).map(channel => channel.slice(this.prefix.length))
      const next = new Set(servers.filter(server => !this.confirmed.has(server)))
      const shared = servers.filter(server => this.confirmed.has(server))
      if (shared.length > 0) {
        // [channel, count, channel, count, …]; our own subscription is one of the count.
        const counts = await this.pub.pubsub('NUMSUB', ...shared.map(server => this.prefix + server)) as Array<string | number>
        for (let i = 0; i + 1 < counts.length; i += 2) {
          if (Number(counts[i + 1]) > 1) next.add(String(counts[i]).slice(this.prefix.length))
        }
      }
      this.remote = next
    } catch {
      this.remote = new Set()
    } finally {
      this.polling = false
    }
    if (this.pollAgain) {
      this.pollAgain = false
      await this.poll()
    }
  }

  private unavailable (message: string): void {
    this.remote = new Set()
    if (this.down || this.closed) return
    this.down = true
    // The connection's error (refused, auth failed, …): never a payload, never the URL's password.
    this.logger.warn({ err: { message } }, 'debug fan-out: Redis unavailable; debug events reach this replica\'s subscribers only until it is back')
  }

  private available (): void {
    if (!this.down) return
    this.down = false
    this.logger.info({}, 'debug fan-out: Redis connected again')
  }

  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    if (this.soon) clearTimeout(this.soon)
    this.pub.disconnect()
    this.sub.disconnect()
  }
}
