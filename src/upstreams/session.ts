// Keeps one live MCP session with one upstream server, shared by every call to it: connected when
// the server is deployed, re-established when it is lost, closed when the server goes.
//
// - One session for all calls and all end users: never a new upstream session per call.
// - Lost session (the upstream answers 404/400 for our session id, the connection is refused, a
//   stdio child exits): re-initialize at once, and send the failed request again only when it
//   cannot have been handled (it never got through). A session that dies within STABLE_MS of
//   being made, or a connect that fails, waits with exponential backoff before the next try.
// - While waiting, a call does not queue behind the backoff timer: it tries to connect itself, at
//   most one attempt per ON_DEMAND_RETRY_MS shared by all calls, and fails with a clear error if
//   the upstream is still down.
// - Status: deploying (first connect), running (connected), crashed (connect failed or the
//   session died young; retrying), stopped (closed).
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js'
import { RpcError, SERVER_ERROR } from '../mcp/jsonrpc.ts'
import type { UpstreamConnectionSpec } from '../tools/compiled.ts'
import type { ConnectOptions, ProgressParams, TransportUsed, UpstreamClient } from './connect.ts'
import { describeFailure, isConnectionFailure, neverDelivered } from './errors.ts'
import type { ListKind, UpstreamCapabilities, UpstreamStatus } from './types.ts'

export interface BackoffPolicy {
  initialMs: number
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 }
/** A session that lived at least this long was healthy: its loss reconnects at once. */
const STABLE_MS = 10_000
/**
 * While backing off, a call tries to connect itself once the last attempt is at least this old
 * (waiting for the rest): an upstream that is back is found by the next call, not the next timer.
 * Concurrent calls share one attempt, so a dead upstream sees at most one connect per interval.
 */
const ON_DEMAND_RETRY_MS = 250

export interface UpstreamSessionOptions {
  serverName: string
  spec: UpstreamConnectionSpec
  logger: Logger
  connect: (spec: UpstreamConnectionSpec, options: ConnectOptions) => Promise<UpstreamClient>
  clientInfo: { name: string, version: string }
  backoff?: BackoffPolicy
  now?: () => number
}

export interface UpstreamSessionEvents {
  status: [status: UpstreamStatus, connectedAt: Date | undefined]
  /** A new session is up; `replaced` when it replaces a lost one (lists may have changed). */
  connected: [replaced: boolean]
  listChanged: [ListKind]
  resourceUpdated: [uri: string]
  progress: [ProgressParams]
}

export class UpstreamSession extends EventEmitter<UpstreamSessionEvents> {
  readonly serverName: string
  readonly spec: UpstreamConnectionSpec
  #options: UpstreamSessionOptions
  #logger: Logger
  #backoff: BackoffPolicy
  #now: () => number
  #current: { client: Client, since: number, transport: TransportUsed, close: () => Promise<void> } | undefined
  #probing = false
  #connecting: Promise<Client> | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #failures = 0
  #everConnected = false
  #closed = false
  #status: UpstreamStatus = 'deploying'
  #connectedAt: Date | undefined
  #lastFailure = ''
  #lastAttemptAt = -Infinity
  #capabilities: UpstreamCapabilities | undefined

  constructor (options: UpstreamSessionOptions) {
    super()
    this.serverName = options.serverName
    this.spec = options.spec
    this.#options = options
    this.#logger = options.logger
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF
    this.#now = options.now ?? Date.now
  }

  get status (): UpstreamStatus {
    return this.#status
  }

  get connectedAt (): Date | undefined {
    return this.#connectedAt
  }

  /** What the upstream offered when the last session was initialized. */
  get capabilities (): UpstreamCapabilities | undefined {
    return this.#capabilities
  }

  /** Starts connecting in the background. */
  start (): void {
    if (this.#closed || this.#current || this.#connecting) return
    this.#connect().catch(() => {}) // reported through status and the log
  }

  /**
   * The live client, connecting first if needed. While backing off, a call waits for the next
   * on-demand slot (at most ON_DEMAND_RETRY_MS) and tries then, sharing the attempt with any
   * other call; it does not wait for the backoff timer.
   */
  async client (): Promise<Client> {
    if (this.#closed) throw new RpcError(SERVER_ERROR, `Upstream MCP server of "${this.serverName}" is stopped`)
    if (this.#current) return this.#current.client
    if (this.#connecting) return await this.#connecting
    const wait = this.#retryTimer ? ON_DEMAND_RETRY_MS - (this.#now() - this.#lastAttemptAt) : 0
    if (wait > 0) {
      await new Promise(resolve => setTimeout(resolve, wait))
      return await this.client() // connected, connecting, or now due for an attempt
    }
    return await this.#connect()
  }

  /**
   * Runs one exchange on the session. A connection failure drops the session (the next call
   * reconnects); the exchange is repeated once on a new session only if it never got through.
   */
  async run<T> (work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.client()
    try {
      return await work(client)
    } catch (err) {
      if (!isConnectionFailure(err)) throw err
      this.#lost(client, err)
      if (!neverDelivered(err)) throw err
      return await work(await this.client())
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    await this.#connecting?.catch(() => {})
    const current = this.#current
    this.#current = undefined
    if (current) {
      current.client.onclose = undefined
      await current.close()
    }
    this.#setStatus('stopped')
  }

  #setStatus (status: UpstreamStatus): void {
    if (status === this.#status && status !== 'running') return
    this.#status = status
    this.emit('status', status, this.#connectedAt)
  }

  #connect (): Promise<Client> {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    const started = this.#now()
    this.#lastAttemptAt = started
    const attempt = (async () => {
      let opened: UpstreamClient
      try {
        opened = await this.#options.connect(this.spec, {
          serverName: this.serverName,
          logger: this.#logger,
          clientInfo: this.#options.clientInfo,
          onListChanged: kind => { if (!this.#closed) this.emit('listChanged', kind) },
          onResourceUpdated: uri => { if (!this.#closed) this.emit('resourceUpdated', uri) },
          onProgress: params => this.emit('progress', params)
        })
      } catch (err) {
        this.#failed(err, 'connect failed')
        throw new RpcError(SERVER_ERROR, `Upstream MCP server of "${this.serverName}" is unavailable (${this.#lastFailure})`)
      }
      const { client, transport } = opened
      if (this.#closed) {
        await opened.close()
        throw new RpcError(SERVER_ERROR, `Upstream MCP server of "${this.serverName}" is stopped`)
      }
      const offered = client.getServerCapabilities() ?? {}
      this.#capabilities = {
        tools: offered.tools !== undefined,
        resources: offered.resources !== undefined,
        prompts: offered.prompts !== undefined,
        completions: offered.completions !== undefined,
        resourceSubscribe: offered.resources?.subscribe === true
      }
      this.#current = { client, since: this.#now(), transport, close: opened.close }
      client.onclose = () => this.#lost(client, new Error('session closed'))
      client.onerror = err => this.#transportError(client, err)
      const replaced = this.#everConnected
      this.#everConnected = true
      this.#connectedAt = new Date()
      this.#logger.info({ server: this.serverName, transport, ms: this.#now() - started }, replaced ? 'upstream MCP session re-established' : 'upstream MCP session established')
      this.#setStatus('running')
      this.emit('connected', replaced)
      return client
    })()
    this.#connecting = attempt
    attempt.finally(() => { if (this.#connecting === attempt) this.#connecting = undefined }).catch(() => {})
    return attempt
  }

  #failed (err: unknown, what: string): void {
    this.#lastFailure = describeFailure(err)
    this.#failures++
    const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** (this.#failures - 1))
    this.#logger.warn({ server: this.serverName, failure: this.#lastFailure, attempt: this.#failures, retryInMs: delay }, `upstream MCP ${what}`)
    this.#setStatus('crashed')
    if (!this.#closed) this.#retryTimer = setTimeout(() => this.start(), delay).unref()
  }

  /**
   * Errors the transport reports outside a request. A legacy SSE stream that fails takes the
   * session with it. A Streamable HTTP GET stream that fails (the upstream restarted?) would
   * otherwise go unnoticed until the next call, and its list_changed notifications with it: a
   * ping finds out, and run() re-initializes if the session is gone.
   */
  #transportError (client: Client, err: Error): void {
    const current = this.#current
    if (current?.client !== client) return
    this.#logger.debug({ server: this.serverName, failure: describeFailure(err) }, 'upstream MCP transport error')
    if (current.transport === 'sse' && err instanceof SseError) {
      this.#lost(client, err)
      return
    }
    // Only a failing event stream is worth a probe (not, say, a notification for an unknown request).
    const streamFailed = isConnectionFailure(err) || /^(SSE stream disconnected|Failed to reconnect SSE stream|Failed to open SSE stream)/.test(err.message)
    if (current.transport !== 'streamable-http' || this.#probing || !streamFailed) return
    this.#probing = true
    this.run(live => live.ping({ timeout: Math.min(this.spec.timeoutMs, 10_000) }))
      .catch(() => {}) // a failure is handled (and logged) by run and the reconnect
      .finally(() => { this.#probing = false })
  }

  #lost (client: Client, err: unknown): void {
    if (this.#current?.client !== client || this.#closed) return
    const lived = this.#now() - this.#current.since
    const close = this.#current.close
    this.#current = undefined
    client.onclose = undefined
    client.onerror = undefined
    close().catch(() => {})
    if (lived < STABLE_MS && this.#failures > 0) {
      // It keeps dying right after starting: back off instead of restarting in a loop.
      this.#failed(err, 'session lost soon after it started')
      return
    }
    // A young session's loss counts as one failure, so a second one in a row backs off.
    this.#failures = lived < STABLE_MS ? 1 : 0
    this.#logger.warn({ server: this.serverName, failure: describeFailure(err), livedMs: lived }, 'upstream MCP session lost; reconnecting')
    this.start()
  }
}
