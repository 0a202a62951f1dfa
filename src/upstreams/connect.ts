// Opens one MCP session with an upstream server: an SDK Client over the transport the spec names,
// initialized, with list_changed and resources/updated notifications routed to the callbacks.
//
// remote-mcp `auto` follows the spec's backwards-compatibility rule (2025-03-26, "Transports"):
// POST the initialize request to the URL (Streamable HTTP); if that fails with an HTTP 4xx, the
// server is taken to be an old HTTP+SSE one, and a GET on the same URL opens its event stream.
// Network failures (refused, reset, timeout) do not fall back: the server is down, not old.
import type { Logger } from 'pino'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { ProgressNotificationSchema, PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import type { RemoteMcpConnectionSpec, StdioConnectionSpec, UpstreamConnectionSpec } from '../tools/compiled.ts'
import { createPooledFetch, type PooledFetch } from './pooled-fetch.ts'
import { createStdioTransport } from './stdio-transport.ts'
import type { ListKind } from './types.ts'

export type TransportUsed = 'streamable-http' | 'sse' | 'stdio'

export interface ConnectOptions {
  serverName: string
  logger: Logger
  /** How Toolgate introduces itself upstream. */
  clientInfo: { name: string, version: string }
  onListChanged: (kind: ListKind) => void
  onResourceUpdated: (uri: string) => void
  /** Every notifications/progress (the SDK's own per-request progress routing is not used). */
  onProgress: (params: ProgressParams) => void
}

export interface ProgressParams {
  progressToken: string | number
  progress: number
  total?: number
  message?: string
}

export interface UpstreamClient {
  client: Client
  transport: TransportUsed
  /** Closes the client and whatever its transport holds (connection pool, child process). */
  close (): Promise<void>
}

function newClient (options: ConnectOptions): Client {
  // No client capabilities (no sampling, roots, elicitation): the upstream serves many end users
  // through this one session, so it must not ask any one of them anything.
  const client = new Client(options.clientInfo, { capabilities: {} })
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => options.onListChanged('tools'))
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => options.onListChanged('resources'))
  client.setNotificationHandler(PromptListChangedNotificationSchema, () => options.onListChanged('prompts'))
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, notification => options.onResourceUpdated(notification.params.uri))
  // Replaces the SDK's progress routing, which drops a progress notification that arrives in the
  // same read as the response (the SDK handles responses at once and notifications a microtask
  // later, after the request's progress handler is gone: the last one is lost over legacy SSE).
  client.setNotificationHandler(ProgressNotificationSchema, notification => options.onProgress(notification.params as ProgressParams))
  return client
}

async function connectOver (transport: Transport, options: ConnectOptions, timeoutMs: number): Promise<Client> {
  const client = newClient(options)
  try {
    await client.connect(transport, { timeout: timeoutMs })
  } catch (err) {
    await client.close().catch(() => {})
    throw err
  }
  return client
}

function streamableHttp (spec: RemoteMcpConnectionSpec, pooled: PooledFetch): Transport {
  return new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: spec.headers }, fetch: pooled.fetch })
}

function legacySse (spec: RemoteMcpConnectionSpec): Transport {
  return new SSEClientTransport(new URL(spec.url), { requestInit: { headers: spec.headers } })
}

/** A 4xx to the initialize POST: the server does not speak Streamable HTTP at this URL. */
function isOldServer (err: unknown): boolean {
  return err instanceof StreamableHTTPError && err.code !== undefined && err.code >= 400 && err.code < 500
}

function closing (client: Client, release?: () => Promise<void>): () => Promise<void> {
  return async () => {
    await client.close().catch(() => {})
    await release?.()
  }
}

async function connectLegacySse (spec: RemoteMcpConnectionSpec, options: ConnectOptions): Promise<UpstreamClient> {
  // Legacy HTTP+SSE keeps the global fetch: its event stream goes through the eventsource package.
  const client = await connectOver(legacySse(spec), options, spec.timeoutMs)
  return { client, transport: 'sse', close: closing(client) }
}

async function connectRemote (spec: RemoteMcpConnectionSpec, options: ConnectOptions): Promise<UpstreamClient> {
  if (spec.transport === 'sse') return await connectLegacySse(spec, options)
  const pooled = createPooledFetch(new URL(spec.url).origin, { maxBodyBytes: spec.maxResponseBytes })
  try {
    const client = await connectOver(streamableHttp(spec, pooled), options, spec.timeoutMs)
    return { client, transport: 'streamable-http', close: closing(client, pooled.close) }
  } catch (err) {
    await pooled.close()
    if (spec.transport !== 'auto' || !isOldServer(err)) throw err
    options.logger.debug({ server: options.serverName, status: (err as StreamableHTTPError).code }, 'upstream refused Streamable HTTP; trying HTTP+SSE')
    return await connectLegacySse(spec, options)
  }
}

async function connectStdio (spec: StdioConnectionSpec, options: ConnectOptions): Promise<UpstreamClient> {
  const transport = createStdioTransport(
    { command: spec.command, args: spec.args, env: spec.env, ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}) },
    { logger: options.logger, redact: spec.redact, serverName: options.serverName, maxMessageBytes: spec.maxResponseBytes }
  )
  const client = await connectOver(transport, options, spec.timeoutMs)
  return { client, transport: 'stdio', close: closing(client) }
}

/** Connects and initializes; rejects with the transport's or the upstream's error. */
export async function connectUpstream (spec: UpstreamConnectionSpec, options: ConnectOptions): Promise<UpstreamClient> {
  return spec.kind === 'remote-mcp' ? await connectRemote(spec, options) : await connectStdio(spec, options)
}
