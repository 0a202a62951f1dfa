// One undici Pool per upstream origin, kept across config versions (a config change must not drop
// warm keep-alive connections to an unchanged upstream).
import { Pool } from 'undici'

export interface PoolOptions {
  connections?: number
  keepAliveTimeoutMs?: number
}

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>()
  private readonly options: PoolOptions

  constructor (options: PoolOptions = {}) {
    this.options = options
  }

  get (origin: string): Pool {
    let pool = this.pools.get(origin)
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connections ?? 128,
        keepAliveTimeout: this.options.keepAliveTimeoutMs ?? 10_000,
        // The per-call AbortSignal bounds the whole exchange; these only stop a wedged socket.
        headersTimeout: 0,
        bodyTimeout: 0
      })
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** Each pool's undici stats (connected, free, pending, queued, running, size), for /metrics. */
  * stats (): Generator<[origin: string, stats: Pool['stats']]> {
    for (const [origin, pool] of this.pools) yield [origin, pool.stats]
  }

  /** Closes pools whose origin no config uses any more. */
  async retain (origins: Set<string>): Promise<void> {
    const unused = [...this.pools.keys()].filter(origin => !origins.has(origin))
    await Promise.all(unused.map(async origin => {
      const pool = this.pools.get(origin)!
      this.pools.delete(origin)
      await pool.close().catch(() => {})
    }))
  }

  async close (): Promise<void> {
    const all = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(all.map(pool => pool.destroy().catch(() => {})))
  }
}
