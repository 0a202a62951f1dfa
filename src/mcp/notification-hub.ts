// Fans "a list changed" out to the open streams of a server: legacy GET streams and modern
// `subscriptions/listen` streams, on this replica. Every replica learns of config changes from
// Postgres NOTIFY (the registry) and of upstream changes from its own upstream sessions, so each
// one tells its own streams. Nothing is kept: a stream that is not open misses nothing it could
// have asked for again (clients re-list on reconnect).
import type { CompiledConfig, CompiledServer } from '../tools/compiled.ts'
import type { ListKind } from '../upstreams/types.ts'

/** An open stream: told of list changes, and of updates to the resources it subscribed to. */
export interface StreamSink {
  listChanged (kind: ListKind): void
  /** Present when the stream's client subscribed to resources; it filters by its own URIs. */
  resourceUpdated? (uri: string): void
}

export class NotificationHub {
  private readonly sinks = new Map<string, Set<StreamSink>>()
  /** Per server, what its clients last saw of the config: to notify only servers that changed. */
  private readonly signatures = new Map<string, string>()

  constructor (initial: CompiledConfig) {
    for (const server of initial.servers.values()) this.signatures.set(server.name, signature(server))
  }

  /** Registers a stream; returns the function that removes it. */
  open (serverName: string, sink: StreamSink): () => void {
    let set = this.sinks.get(serverName)
    if (!set) this.sinks.set(serverName, set = new Set())
    set.add(sink)
    return () => {
      set.delete(sink)
      if (set.size === 0 && this.sinks.get(serverName) === set) this.sinks.delete(serverName)
    }
  }

  get openCount (): number {
    let count = 0
    for (const set of this.sinks.values()) count += set.size
    return count
  }

  publish (serverName: string, kind: ListKind): void {
    for (const sink of [...this.sinks.get(serverName) ?? []]) sink.listChanged(kind)
  }

  resourceUpdated (serverName: string, uri: string): void {
    for (const sink of [...this.sinks.get(serverName) ?? []]) sink.resourceUpdated?.(uri)
  }

  /** A new config version: tell the streams of each server whose tools differ (or that came or went). */
  configChanged (next: CompiledConfig): void {
    const seen = new Set<string>()
    for (const server of next.servers.values()) {
      seen.add(server.name)
      const current = signature(server)
      if (this.signatures.get(server.name) !== current) {
        this.signatures.set(server.name, current)
        this.publish(server.name, 'tools')
      }
    }
    for (const name of [...this.signatures.keys()]) {
      if (seen.has(name)) continue
      this.signatures.delete(name)
      this.publish(name, 'tools')
    }
  }
}

/** What a client of the server can see of its definition (descriptors, kind, upstream spec). */
function signature (server: CompiledServer): string {
  const { tools: _tools, toolList, ...rest } = server
  return JSON.stringify({ ...rest, tools: toolList.map(tool => tool.descriptor) })
}
