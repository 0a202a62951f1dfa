// Holds the compiled snapshot of the current config version and swaps it atomically when a newer
// version appears (after a local apply, or a NOTIFY from another replica). Calls in flight keep the
// snapshot they started with.
import { EventEmitter } from 'node:events'
import type { CompiledConfig, CompiledServer } from './compiled.ts'
import type { InterceptorRuntime } from '../interceptors/index.ts'
import type { UpstreamPools } from './pools.ts'

export class ToolRegistry extends EventEmitter<{ changed: [CompiledConfig] }> {
  private snapshot: CompiledConfig
  private readonly load: () => Promise<CompiledConfig>
  private readonly pools: UpstreamPools
  private readonly interceptors: InterceptorRuntime | undefined
  private pending: Promise<void> | undefined
  private again = false

  constructor (initial: CompiledConfig, load: () => Promise<CompiledConfig>, pools: UpstreamPools, interceptors?: InterceptorRuntime) {
    super()
    this.snapshot = initial
    this.load = load
    this.pools = pools
    this.interceptors = interceptors
  }

  get current (): CompiledConfig {
    return this.snapshot
  }

  get version (): number {
    return this.snapshot.version
  }

  server (name: string): CompiledServer | undefined {
    return this.snapshot.servers.get(name)
  }

  /**
   * Swaps in `next` whatever its version (after a workspace purge: an empty config, so upstream
   * sessions close and nothing compiled from the purged config stays in memory).
   */
  async replace (next: CompiledConfig): Promise<void> {
    this.snapshot = next
    await this.pools.retain(next.origins)
    this.interceptors?.retain(next.chains)
    this.emit('changed', next)
  }

  /** Loads the stored config if it is newer than the snapshot. Concurrent calls coalesce. */
  async refresh (): Promise<void> {
    if (this.pending) {
      this.again = true
      return await this.pending
    }
    this.pending = (async () => {
      do {
        this.again = false
        const next = await this.load()
        if (next.version > this.snapshot.version) {
          this.snapshot = next
          await this.pools.retain(next.origins)
          // Interceptors the new version no longer uses give back their isolates.
          this.interceptors?.retain(next.chains)
          this.emit('changed', next)
        }
      } while (this.again)
    })().finally(() => { this.pending = undefined })
    return await this.pending
  }
}
