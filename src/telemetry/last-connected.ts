// `servers.last_connected_at` of api servers: when an MCP client last reached the server. Written
// at most once per `intervalMs` per server by a process (a Map lookup on the hot path, the write in
// the background), and the UPDATE itself skips a row another replica wrote less than `intervalMs`
// ago, so N replicas write at most N times per interval and usually once. remote-mcp and stdio rows
// keep their own meaning (when Toolgate's upstream session last connected; upstreams/status-store.ts).
import type { Logger } from 'pino'
import type { Db } from '../db/index.ts'

export interface LastConnectedOptions {
  db: Db
  workspaceId: string
  intervalMs: number
  logger: Logger
  clock?: () => number
}

/** More names than any config has: past it, the map starts over (a removed server's entry goes). */
const MAX_TRACKED = 10_000

export class LastConnected {
  readonly #options: LastConnectedOptions
  readonly #clock: () => number
  readonly #written = new Map<string, number>()
  readonly #writes = new Set<Promise<void>>()

  constructor (options: LastConnectedOptions) {
    this.#options = options
    this.#clock = options.clock ?? Date.now
  }

  /** An MCP client reached the api server `server` (a name of the compiled config). */
  touch (server: string): void {
    const now = this.#clock()
    const last = this.#written.get(server)
    if (last !== undefined && now - last < this.#options.intervalMs) return
    if (last === undefined && this.#written.size >= MAX_TRACKED) this.#written.clear()
    this.#written.set(server, now)
    const { db, workspaceId, intervalMs, logger } = this.#options
    const at = new Date(now)
    const write: Promise<void> = db.updateTable('servers').set({ last_connected_at: at })
      .where('workspace_id', '=', workspaceId).where('name', '=', server).where('kind', '=', 'api')
      .where(eb => eb.or([eb('last_connected_at', 'is', null), eb('last_connected_at', '<=', new Date(now - intervalMs))]))
      .execute()
      .then(() => {}, err => { logger.warn({ server, err: { message: (err as Error).message } }, 'recording last_connected_at failed') })
      .finally(() => { this.#writes.delete(write) })
    this.#writes.add(write)
  }

  /** Waits for the writes in flight (shutdown, tests). */
  async settle (): Promise<void> {
    while (this.#writes.size > 0) await Promise.all([...this.#writes])
  }
}
