// Every live MCP upstream of this process, one per remote-mcp / stdio server of the current
// config, reconciled when the config changes:
//   new server → connect; changed connection spec → new session (the old one closes once its
//   calls are done); only the name rules changed → same session, lists re-announced;
//   server gone → close.
// It re-emits each upstream's listChanged and resourceUpdated with the server name (the
// UpstreamDirectory contract).
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { CompiledConfig, CompiledServer, UpstreamConnectionSpec } from '../tools/compiled.ts'
import type { ConnectOptions, UpstreamClient } from './connect.ts'
import { SessionUpstream } from './mcp-upstream.ts'
import { compileNameRules } from './name-rules.ts'
import { UpstreamSession, type BackoffPolicy } from './session.ts'
import type { StatusRecorder } from './status-store.ts'
import type { ListKind, McpUpstream, UpstreamDirectory } from './types.ts'

export interface UpstreamManagerOptions {
  logger: Logger
  connect: (spec: UpstreamConnectionSpec, options: ConnectOptions) => Promise<UpstreamClient>
  recordStatus: StatusRecorder
  clientInfo: { name: string, version: string }
  backoff?: BackoffPolicy
  /** How long a replaced upstream's calls in flight may take before its session is closed anyway. */
  retireGraceMs?: number
}

interface Entry {
  upstream: SessionUpstream
  kind: 'remote-mcp' | 'stdio'
  /** The connection spec, serialized: equal strings mean the same session can stay. Memory only (it holds resolved secrets). */
  specKey: string
  rulesKey: string
}

export class UpstreamManager extends EventEmitter<{ listChanged: [serverName: string, kind: ListKind], resourceUpdated: [serverName: string, uri: string] }> implements UpstreamDirectory {
  readonly #options: UpstreamManagerOptions
  readonly #entries = new Map<string, Entry>()
  readonly #retiring = new Set<Promise<void>>()
  #closed = false

  constructor (options: UpstreamManagerOptions) {
    super()
    this.#options = options
  }

  get (serverName: string): McpUpstream | undefined {
    return this.#entries.get(serverName)?.upstream
  }

  /** How many live upstream sessions are in each status (for /metrics). */
  sessionStatuses (): Map<string, number> {
    const counts = new Map<string, number>()
    for (const entry of this.#entries.values()) {
      const status = entry.upstream.session.status
      counts.set(status, (counts.get(status) ?? 0) + 1)
    }
    return counts
  }

  /** Brings the live upstreams in line with `config`. Connections are made in the background. */
  reconcile (config: CompiledConfig): void {
    if (this.#closed) return
    for (const [name, entry] of [...this.#entries]) {
      const server = config.servers.get(name)
      if (!server?.upstream || server.kind !== entry.kind) {
        this.#entries.delete(name)
        this.#retire(entry)
      }
    }
    for (const server of config.servers.values()) {
      if (!server.upstream || (server.kind !== 'remote-mcp' && server.kind !== 'stdio')) continue
      const specKey = JSON.stringify(server.upstream.connection)
      const rulesKey = JSON.stringify(server.upstream.names)
      const entry = this.#entries.get(server.name)
      if (entry && entry.specKey === specKey) {
        if (entry.rulesKey !== rulesKey) {
          entry.rulesKey = rulesKey
          entry.upstream.setRules(compileNameRules(server.upstream.names))
        }
        // The apply that produced this version rewrote the row: put the live status back.
        this.#record(server.name, entry.kind, entry.upstream.session)
        continue
      }
      if (entry) this.#retire(entry)
      this.#entries.set(server.name, this.#start(server, server.kind, specKey, rulesKey))
    }
  }

  /** Closes every upstream (stdio children end) and waits for replaced ones still finishing. */
  async close (): Promise<void> {
    this.#closed = true
    const entries = [...this.#entries.values()]
    this.#entries.clear()
    await Promise.all([
      ...entries.map(async entry => {
        await entry.upstream.close()
        await this.#options.recordStatus(entry.upstream.serverName, entry.kind, 'stopped', undefined)
      }),
      ...this.#retiring
    ])
  }

  #start (server: CompiledServer, kind: 'remote-mcp' | 'stdio', specKey: string, rulesKey: string): Entry {
    const { logger, connect, clientInfo, backoff } = this.#options
    const session = new UpstreamSession({
      serverName: server.name,
      spec: server.upstream!.connection,
      logger,
      connect,
      clientInfo,
      ...(backoff ? { backoff } : {})
    })
    const upstream = new SessionUpstream(session, compileNameRules(server.upstream!.names))
    upstream.on('listChanged', listKind => {
      if (this.#entries.get(server.name)?.upstream === upstream) this.emit('listChanged', server.name, listKind)
    })
    upstream.on('resourceUpdated', uri => {
      if (this.#entries.get(server.name)?.upstream === upstream) this.emit('resourceUpdated', server.name, uri)
    })
    session.on('status', () => {
      // A replaced session's last words ("stopped") must not overwrite its successor's status.
      if (this.#entries.get(server.name)?.upstream === upstream) this.#record(server.name, kind, session)
    })
    session.start()
    this.#record(server.name, kind, session)
    return { upstream, kind, specKey, rulesKey }
  }

  #record (serverName: string, kind: 'remote-mcp' | 'stdio', session: UpstreamSession): void {
    void this.#options.recordStatus(serverName, kind, session.status, session.connectedAt)
  }

  #retire (entry: Entry): void {
    const done = entry.upstream.retire(this.#options.retireGraceMs ?? 30_000)
      .catch(err => this.#options.logger.warn({ server: entry.upstream.serverName, err: { message: (err as Error).message } }, 'closing upstream MCP session failed'))
      .finally(() => this.#retiring.delete(done))
    this.#retiring.add(done)
  }
}
