// MCP methods for an `api` server: initialize, ping, tools/list, tools/call. One call of
// `dispatch` answers one JSON-RPC request; transports (HTTP JSON or SSE) are the caller's concern.
import type { Principal } from '../auth/api-keys.ts'
import type { CompiledServer } from '../tools/compiled.ts'
import { executeTool, type CallOutcome } from '../tools/execute.ts'
import type { UpstreamPools } from '../tools/pools.ts'
import { INVALID_PARAMS, METHOD_NOT_FOUND, RpcError, type JsonRpcRequest } from './jsonrpc.ts'
import { hasStructuredOutput, negotiate, type ProtocolVersion } from './versions.ts'

export const SERVER_VERSION = '0.1.0'

export interface DispatchContext {
  server: CompiledServer
  principal: Principal
  version: ProtocolVersion
  pools: UpstreamPools
  signal?: AbortSignal
  /** Filled in for tools/call, for the request log line (names and numbers, never payloads). */
  call?: { tool: string, outcome?: CallOutcome }
}

export interface InitializeOutcome {
  result: Record<string, unknown>
  version: ProtocolVersion
}

export function initialize (server: CompiledServer, params: Record<string, unknown> | undefined): InitializeOutcome {
  const version = negotiate(params?.protocolVersion)
  const serverInfo: Record<string, unknown> = { name: `toolgate/${server.name}`, version: SERVER_VERSION }
  if (server.title !== undefined && hasStructuredOutput(version)) serverInfo.title = server.title
  const result: Record<string, unknown> = {
    protocolVersion: version,
    capabilities: { tools: { listChanged: false } },
    serverInfo
  }
  if (server.instructions !== undefined) result.instructions = server.instructions
  return { result, version }
}

function listTools (ctx: DispatchContext): Record<string, unknown> {
  const modern = hasStructuredOutput(ctx.version)
  return { tools: ctx.server.toolList.map(tool => modern ? tool.descriptor : tool.legacyDescriptor) }
}

async function callTool (ctx: DispatchContext, params: Record<string, unknown> | undefined): Promise<unknown> {
  const name = params?.name
  if (typeof name !== 'string') throw new RpcError(INVALID_PARAMS, 'tools/call needs params.name (a string)')
  const tool = ctx.server.tools.get(name)
  if (!tool) throw new RpcError(INVALID_PARAMS, `Unknown tool: ${name}`)
  const args = params?.arguments
  if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
    throw new RpcError(INVALID_PARAMS, 'tools/call params.arguments must be an object')
  }
  ctx.call = { tool: name }
  const outcome = await executeTool(tool, args ?? {}, ctx.pools, ctx.signal ? { signal: ctx.signal } : {})
  ctx.call.outcome = outcome
  if (outcome.result.structuredContent && !hasStructuredOutput(ctx.version)) {
    const { structuredContent: _, ...rest } = outcome.result
    return rest
  }
  return outcome.result
}

/** Answers one request (initialize is handled by the transport, which must issue the session). */
export async function dispatch (request: JsonRpcRequest, ctx: DispatchContext): Promise<unknown> {
  switch (request.method) {
    case 'ping':
      return {}
    case 'tools/list':
      return listTools(ctx)
    case 'tools/call':
      return await callTool(ctx, request.params)
    default:
      throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${request.method}`)
  }
}
