// The compiled form of a config version: everything a tool call needs, built once and looked up.
import type { ValidateFunction } from 'ajv'
import type { CompiledChain } from '../interceptors/index.ts'
import type { DiscoveryIndex } from '../discovery/index.ts'

export interface ToolDescriptor {
  name: string
  title?: string
  description?: string
  inputSchema: Record<string, unknown>
  outputSchema?: Record<string, unknown>
  annotations?: Record<string, unknown>
}

export interface ArgumentBinding {
  /** Argument (input property) name. */
  argument: string
  /** Name upstream: query key, header name or body property. */
  name: string
}

/** Where an end user's access token goes on the upstream request. */
export type TokenInjection = { header: string, scheme?: string } | { query: string }

/** A provider's OAuth settings, variables and the client secret resolved (in memory only). */
export interface CompiledOAuthProvider {
  /** The vault's key for this provider and the name consent pages show. */
  name: string
  description?: string
  issuer?: string
  authorizationUrl?: string
  tokenUrl?: string
  revocationUrl?: string
  clientId: string
  clientSecret?: string
  clientAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'none'
  pkce: boolean
  scopes: string[]
  authorizationParams: Record<string, string>
  /** Header names lower-case. */
  inject: TokenInjection
  refreshSkewMs: number
  /** Changes whenever a setting does: the key of the cached OAuth client (discovery included). */
  fingerprint: string
}

export interface CompiledTool {
  name: string
  serverName: string
  /** tools/list entry for 2025-06-18 and later. */
  descriptor: ToolDescriptor
  /** tools/list entry for 2025-03-26 (no title, no outputSchema). */
  legacyDescriptor: ToolDescriptor
  validateArguments: ValidateFunction
  method: string
  origin: string
  /** Literal path pieces around the path parameters: literals[0] param[0] literals[1] … */
  pathLiterals: string[]
  pathArguments: string[]
  query: ArgumentBinding[]
  headers: ArgumentBinding[]
  body: ArgumentBinding[]
  /** Provider defaults merged with tool headers, variables resolved. Lower-case names. */
  staticHeaders: Record<string, string>
  timeoutMs: number
  maxResponseBytes: number
  hasOutputSchema: boolean
  /** The output schema's validator: MCP requires structuredContent to conform to it. */
  validateOutput?: ValidateFunction
  /** The tool's own chain, else its server's; absent when there is none (nothing runs). */
  requestChain?: CompiledChain
  responseChain?: CompiledChain
  /** Set when the tool's provider uses OAuth: each call carries the calling end user's token. */
  oauth?: CompiledOAuthProvider
  /** Scopes the tool needs (asked for at consent; a token without them asks again). */
  scopes: string[]
  /** What the live debug console hides of this tool's requests; absent when no SECRET is used. */
  debugRedaction?: DebugRedaction
}

/** Computed at compile time for the live debug console (src/telemetry/debug-bus.ts). */
export interface DebugRedaction {
  /** Lower-case names of static headers whose value references a SECRET variable: shown as redacted. */
  headers: string[]
  /** The SECRET values used: masked wherever they appear in an event (URL, headers, bodies). */
  secrets: string[]
}

/** How to reach a remote-mcp server, variables resolved (secrets in memory only). */
export interface RemoteMcpConnectionSpec {
  kind: 'remote-mcp'
  url: string
  transport: 'streamable-http' | 'sse' | 'auto'
  headers: Record<string, string>
  timeoutMs: number
  /** Largest HTTP response body read from the upstream (an event stream counts per request). */
  maxResponseBytes: number
}

/** How to start a stdio server, env variables resolved (secrets in memory only). */
export interface StdioConnectionSpec {
  kind: 'stdio'
  command: string
  args: string[]
  env: Record<string, string>
  cwd?: string
  /** Secret values used in env: masked in the child's captured stderr. */
  redact: string[]
  timeoutMs: number
  /** Largest message the child may write on stdout (a bigger one ends it). */
  maxResponseBytes: number
}

export type UpstreamConnectionSpec = RemoteMcpConnectionSpec | StdioConnectionSpec

/** Which upstream items clients see, and under which names. */
export interface UpstreamNameRules {
  /** Upstream names (with `*` globs) to keep; empty keeps all. */
  include: string[]
  /** Upstream names (with `*` globs) to drop; wins over include. */
  exclude: string[]
  /** Upstream tool name → exposed name. */
  rename: Record<string, string>
}

export interface CompiledUpstream {
  connection: UpstreamConnectionSpec
  names: UpstreamNameRules
}

export interface CompiledServer {
  name: string
  /** Where its items come from; absent means `api` (tools compiled from the config). */
  kind?: 'api' | 'remote-mcp' | 'stdio'
  /** remote-mcp and stdio: how to reach the upstream MCP server and what to show of it. */
  upstream?: CompiledUpstream
  title?: string
  description?: string
  instructions?: string
  tools: Map<string, CompiledTool>
  /** In config order. */
  toolList: CompiledTool[]
  /** The server's default chains; remote-mcp and stdio servers run them on every tool call. */
  requestChain?: CompiledChain
  responseChain?: CompiledChain
  /** api with `discovery: true`: the search index over toolList, built once per config version. */
  discovery?: DiscoveryIndex
  /**
   * For the live debug console: `headers` of the upstream connection (remote-mcp) that reference a
   * SECRET; `secrets`: every SECRET value this server uses (its tools' and its upstream's).
   */
  debugRedaction?: DebugRedaction
}

export interface CompiledConfig {
  version: number
  servers: Map<string, CompiledServer>
  origins: Set<string>
  /** Every interceptor chain in use: the runtime keeps their isolates warm and releases the rest. */
  chains: CompiledChain[]
  /** Providers with OAuth settings, by name (consent and callback routes look them up). */
  oauthProviders: Map<string, CompiledOAuthProvider>
}
