// The contract between MCP dispatch and a server whose items come from another MCP server
// (`remote-mcp` over the network, `stdio` as a hosted child process). Dispatch only sees this
// interface; how the upstream session is kept, pooled and restarted is the upstream's business.
import type { EventEmitter } from 'node:events'

export type UpstreamStatus = 'deploying' | 'running' | 'crashed' | 'stopped'

/** Which list changed upstream (relayed to clients as notifications/<kind>/list_changed). */
export type ListKind = 'tools' | 'resources' | 'prompts'

export interface UpstreamCallOptions {
  /** Client cancellation: aborts the upstream request (the upstream gets notifications/cancelled). */
  signal?: AbortSignal
  /** Called for each upstream progress notification, when the client asked for progress. */
  onProgress?: (progress: { progress: number, total?: number, message?: string }) => void
}

/**
 * One upstream MCP server, as seen through the server's include/exclude/rename rules: names here
 * are the names clients see. Results are plain MCP result objects (JSON-RPC `result` values).
 * Errors the upstream returns as JSON-RPC errors are thrown as RpcError with the upstream's code.
 */
export interface UpstreamCapabilities {
  tools: boolean
  resources: boolean
  prompts: boolean
  /** completion/complete is answered. */
  completions: boolean
  /** resources/subscribe is answered (and notifications/resources/updated sent). */
  resourceSubscribe: boolean
}

export interface McpUpstreamEvents {
  listChanged: [ListKind]
  /** notifications/resources/updated for a URI some client subscribed to (through subscribeResource). */
  resourceUpdated: [uri: string]
}

export interface McpUpstream extends EventEmitter<McpUpstreamEvents> {
  readonly status: UpstreamStatus
  /** What the upstream announced in initialize. */
  capabilities (): Promise<UpstreamCapabilities>
  listTools (): Promise<Array<Record<string, unknown>>>
  /** Whether the last tools list handed out had a tool of that (exposed) name: bounded metric labels. */
  knowsTool (name: string): boolean
  callTool (name: string, args: Record<string, unknown>, options?: UpstreamCallOptions): Promise<Record<string, unknown>>
  listResources (): Promise<Array<Record<string, unknown>>>
  listResourceTemplates (): Promise<Array<Record<string, unknown>>>
  readResource (uri: string, options?: UpstreamCallOptions): Promise<Record<string, unknown>>
  listPrompts (): Promise<Array<Record<string, unknown>>>
  getPrompt (name: string, args: Record<string, string>, options?: UpstreamCallOptions): Promise<Record<string, unknown>>
  /** completion/complete with the client's params; a prompt ref must name a visible prompt. */
  complete (params: Record<string, unknown>, options?: UpstreamCallOptions): Promise<Record<string, unknown>>
  /**
   * resources/subscribe on the shared upstream session, counted per URI across clients (the
   * upstream is asked on the first, released on the last, and asked again after a reconnect).
   * Returns the release function: call it on resources/unsubscribe or when the client goes away.
   */
  subscribeResource (uri: string): Promise<() => Promise<void>>
  /** Ends the upstream session (and, for stdio, the child process). */
  close (): Promise<void>
}

/**
 * Finds the live upstream of a server by name; undefined for `api` servers or unknown names.
 * Re-emits every upstream's `listChanged` and `resourceUpdated` with the server's name, so the
 * transport can relay them to the clients of that server without following upstreams as they
 * come and go.
 */
export interface UpstreamDirectory extends EventEmitter<{ listChanged: [serverName: string, kind: ListKind], resourceUpdated: [serverName: string, uri: string] }> {
  get (serverName: string): McpUpstream | undefined
}
