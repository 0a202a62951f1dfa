// MCP methods, for both eras and every server kind. One call of `dispatch` answers one JSON-RPC
// request; transports (HTTP JSON or SSE, sessions, streams) are the caller's concern. `api` servers
// are answered from the compiled config; `remote-mcp` and `stdio` servers through their upstream.
import type { Principal } from '../auth/api-keys.ts'
import type { CompiledServer } from '../tools/compiled.ts'
import { executeTool, type CallOutcome } from '../tools/execute.ts'
import type { UpstreamPools } from '../tools/pools.ts'
import type { InterceptorSavings } from '../telemetry/savings.ts'
import type { CallTrace } from '../telemetry/debug-bus.ts'
import type { McpUpstream } from '../upstreams/types.ts'
import { callUpstreamIntercepted } from './upstream-call.ts'
import type { ConsentLinks } from '../oauth/consent-link.ts'
import { ConsentRequired, TokenUnavailable } from '../oauth/errors.ts'
import type { UpstreamTokens } from '../oauth/tokens.ts'
import { errorResult } from '../tools/result.ts'
import { checkRequestState, consentAnswer } from './consent.ts'
import { INVALID_PARAMS, METHOD_NOT_FOUND, RpcError, SERVER_ERROR, type JsonRpcRequest } from './jsonrpc.ts'
import { META_SERVER_INFO } from './modern.ts'
import { hasStructuredOutput, isModernVersion, MODERN_VERSIONS, negotiate, type LegacyVersion, type ProtocolVersion } from './versions.ts'

export const SERVER_VERSION = '0.1.0'

/** How long a modern client may reuse a list result. Config changes are pushed, so short is fine. */
const LIST_TTL_MS = 0

export interface ProgressReport {
  progress: number
  total?: number
  message?: string
}

export interface DispatchContext {
  server: CompiledServer
  principal: Principal
  version: ProtocolVersion
  pools: UpstreamPools
  /** The live upstream of a `remote-mcp` / `stdio` server. */
  upstream?: McpUpstream | undefined
  signal?: AbortSignal
  /** Set when the client asked for progress (a progressToken) and can receive notifications. */
  onProgress?: (report: ProgressReport) => void
  /** Where bytes before/after response interceptors are counted. */
  savings?: InterceptorSavings
  /** End users' upstream OAuth tokens, and the consent links that ask for them. */
  tokens?: UpstreamTokens
  consentLinks?: ConsentLinks
  /** The client declared URL-mode elicitation (at initialize, or in this request's envelope). */
  urlElicitation?: boolean
  /** The legacy session's random id. */
  sessionId?: string
  /** Filled in for tools/call, for the request log line (names and numbers, never payloads). */
  call?: { tool: string, outcome?: CallOutcome, interceptorFailure?: CallOutcome['interceptorFailure'] }
  /** The live debug console's trace of this tools/call: set only while someone is subscribed. */
  debug?: CallTrace | undefined
}

export interface InitializeOutcome {
  result: Record<string, unknown>
  version: LegacyVersion
}

function serverInfo (server: CompiledServer, version: ProtocolVersion): Record<string, unknown> {
  const info: Record<string, unknown> = { name: `toolgate/${server.name}`, version: SERVER_VERSION }
  if (server.title !== undefined && hasStructuredOutput(version)) info.title = server.title
  return info
}

/** What this server offers. Every list we serve can change, and we say so when it does. */
export async function capabilities (server: CompiledServer, upstream: McpUpstream | undefined): Promise<Record<string, unknown>> {
  if (server.kind === undefined || server.kind === 'api') return { tools: { listChanged: true } }
  if (!upstream) throw new RpcError(SERVER_ERROR, `Upstream of server "${server.name}" is not connected`)
  const offered = await upstream.capabilities()
  const result: Record<string, unknown> = {}
  if (offered.tools) result.tools = { listChanged: true }
  if (offered.resources) result.resources = { listChanged: true, ...(offered.resourceSubscribe ? { subscribe: true } : {}) }
  if (offered.prompts) result.prompts = { listChanged: true }
  if (offered.completions) result.completions = {}
  return result
}

export async function initialize (server: CompiledServer, upstream: McpUpstream | undefined, params: Record<string, unknown> | undefined): Promise<InitializeOutcome> {
  const version = negotiate(params?.protocolVersion)
  const result: Record<string, unknown> = {
    protocolVersion: version,
    capabilities: await capabilities(server, upstream),
    serverInfo: serverInfo(server, version)
  }
  if (server.instructions !== undefined) result.instructions = server.instructions
  return { result, version }
}

function requireUpstream (ctx: DispatchContext, method: string): McpUpstream {
  if (ctx.server.kind === undefined || ctx.server.kind === 'api') throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${method}`)
  if (!ctx.upstream) throw new RpcError(SERVER_ERROR, `Upstream of server "${ctx.server.name}" is not connected`)
  return ctx.upstream
}

function stringParam (params: Record<string, unknown> | undefined, name: string, method: string): string {
  const value = params?.[name]
  if (typeof value !== 'string') throw new RpcError(INVALID_PARAMS, `${method} needs params.${name} (a string)`)
  return value
}

function objectParam (params: Record<string, unknown> | undefined, name: string, method: string): Record<string, unknown> | undefined {
  const value = params?.[name]
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new RpcError(INVALID_PARAMS, `${method} params.${name} must be an object`)
  }
  return value as Record<string, unknown> | undefined
}

function callOptions (ctx: DispatchContext): { signal?: AbortSignal, onProgress?: (report: ProgressReport) => void } {
  return { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}) }
}

async function listTools (ctx: DispatchContext): Promise<Record<string, unknown>> {
  if (ctx.server.kind !== undefined && ctx.server.kind !== 'api') {
    const tools = await requireUpstream(ctx, 'tools/list').listTools()
    // Reshaped results no longer match the upstream's output schemas (see mcp/upstream-call.ts).
    if (!ctx.server.responseChain) return { tools }
    return { tools: tools.map(({ outputSchema: _, ...tool }) => tool) }
  }
  const modern = hasStructuredOutput(ctx.version)
  if (ctx.server.discovery) return { tools: ctx.server.discovery.descriptors(modern) }
  return { tools: ctx.server.toolList.map(tool => modern ? tool.descriptor : tool.legacyDescriptor) }
}

async function callTool (ctx: DispatchContext, params: Record<string, unknown> | undefined): Promise<unknown> {
  let name = stringParam(params, 'name', 'tools/call')
  let args = objectParam(params, 'arguments', 'tools/call')
  ctx.call = { tool: name }
  if (ctx.server.kind !== undefined && ctx.server.kind !== 'api') {
    const upstream = requireUpstream(ctx, 'tools/call')
    if (!ctx.server.requestChain && !ctx.server.responseChain) {
      const forwarded = args ?? {}
      if (ctx.debug) return await ctx.debug.forward(name, forwarded, () => upstream.callTool(name, forwarded, callOptions(ctx)))
      return await upstream.callTool(name, forwarded, callOptions(ctx))
    }
    const call = await callUpstreamIntercepted(ctx.server, upstream, name, args ?? {}, ctx.principal.endUserId, callOptions(ctx), ctx.debug)
    if (call.intercepted) ctx.savings?.record(ctx.server.name, name, call.intercepted.bytesBefore, call.intercepted.bytesAfter)
    if (call.interceptorFailure) ctx.call.interceptorFailure = call.interceptorFailure
    return call.result
  }
  // Discovery: search_tools / describe_tool answer here; call_tool goes on as a call of its target.
  if (ctx.server.discovery?.isMetaTool(name)) {
    const meta = ctx.server.discovery.answer(name, args ?? {}, hasStructuredOutput(ctx.version))
    if ('result' in meta) {
      if (meta.result.structuredContent && !hasStructuredOutput(ctx.version)) {
        const { structuredContent: _, ...rest } = meta.result
        return rest
      }
      return meta.result
    }
    name = meta.call.name
    args = meta.call.arguments
    ctx.call.tool = name
    ctx.debug?.renamed(name)
  }
  const tool = ctx.server.tools.get(name)
  if (!tool) throw new RpcError(INVALID_PARAMS, `Unknown tool: ${name}`)
  if (ctx.consentLinks) checkRequestState(ctx.consentLinks, params?.requestState, { endUserId: ctx.principal.endUserId, server: ctx.server.name, tool: name })
  let outcome: CallOutcome
  try {
    outcome = await executeTool(tool, args ?? {}, ctx.pools, { signal: ctx.signal, endUserId: ctx.principal.endUserId, debug: ctx.debug, ...(ctx.tokens ? { tokens: ctx.tokens } : {}) })
  } catch (err) {
    if (err instanceof ConsentRequired && ctx.consentLinks) {
      ctx.call.outcome = { result: errorResult(err.message), upstreamBytes: 0, upstreamMs: 0, errorKind: 'consent_required' }
      return consentAnswer(err, {
        links: ctx.consentLinks, workspaceId: ctx.principal.workspaceId, endUserId: ctx.principal.endUserId, server: ctx.server.name, tool: name,
        version: ctx.version, urlElicitation: ctx.urlElicitation === true, ...(ctx.sessionId ? { sessionId: ctx.sessionId } : {})
      })
    }
    if (err instanceof TokenUnavailable) {
      ctx.call.outcome = { result: errorResult(err.message), upstreamBytes: 0, upstreamMs: 0, errorKind: 'token_unavailable' }
      return ctx.call.outcome.result
    }
    throw err
  }
  ctx.call.outcome = outcome
  if (outcome.intercepted) ctx.savings?.record(ctx.server.name, name, outcome.intercepted.bytesBefore, outcome.intercepted.bytesAfter)
  if (outcome.result.structuredContent && !hasStructuredOutput(ctx.version)) {
    const { structuredContent: _, ...rest } = outcome.result
    return rest
  }
  return outcome.result
}

/** Methods the modern era removed; it answers them as unknown (HTTP 404). */
const REMOVED_IN_MODERN = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe'])
/** Results a modern client may cache (they carry ttlMs and cacheScope). */
const CACHEABLE = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read', 'server/discover'])

async function answer (request: JsonRpcRequest, ctx: DispatchContext): Promise<Record<string, unknown>> {
  const params = request.params
  switch (request.method) {
    case 'ping':
      return {}
    case 'tools/list':
      return await listTools(ctx)
    case 'tools/call':
      return await callTool(ctx, params) as Record<string, unknown>
    case 'resources/list':
      return { resources: await requireUpstream(ctx, request.method).listResources() }
    case 'resources/templates/list':
      return { resourceTemplates: await requireUpstream(ctx, request.method).listResourceTemplates() }
    case 'resources/read':
      return await requireUpstream(ctx, request.method).readResource(stringParam(params, 'uri', request.method), callOptions(ctx))
    case 'prompts/list':
      return { prompts: await requireUpstream(ctx, request.method).listPrompts() }
    case 'prompts/get': {
      const args = objectParam(params, 'arguments', request.method) ?? {}
      if (Object.values(args).some(value => typeof value !== 'string')) throw new RpcError(INVALID_PARAMS, 'prompts/get params.arguments values must be strings')
      return await requireUpstream(ctx, request.method).getPrompt(stringParam(params, 'name', request.method), args as Record<string, string>, callOptions(ctx))
    }
    case 'completion/complete':
      return await requireUpstream(ctx, request.method).complete(params ?? {}, callOptions(ctx))
    case 'server/discover': {
      const result: Record<string, unknown> = { supportedVersions: [...MODERN_VERSIONS], capabilities: await capabilities(ctx.server, ctx.upstream) }
      if (ctx.server.instructions !== undefined) result.instructions = ctx.server.instructions
      return result
    }
    default:
      throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${request.method}`)
  }
}

/**
 * Answers one request. initialize, subscriptions/listen and resources/(un)subscribe are the
 * transport's: they need its streams and sessions.
 */
export async function dispatch (request: JsonRpcRequest, ctx: DispatchContext): Promise<unknown> {
  if (!isModernVersion(ctx.version)) {
    if (request.method === 'server/discover') throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${request.method}`)
    return await answer(request, ctx)
  }
  if (REMOVED_IN_MODERN.has(request.method)) throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${request.method} (not part of MCP ${ctx.version})`)
  const result = { ...await answer(request, ctx) }
  // Modern results say they are complete (unless they ask for input), may be cached, and name the server.
  result.resultType ??= 'complete'
  if (CACHEABLE.has(request.method)) {
    result.ttlMs ??= LIST_TTL_MS
    result.cacheScope ??= 'private'
  }
  const meta = typeof result._meta === 'object' && result._meta !== null ? result._meta as Record<string, unknown> : {}
  result._meta = { ...meta, [META_SERVER_INFO]: serverInfo(ctx.server, ctx.version) }
  return result
}
