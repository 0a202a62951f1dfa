// tools/call on a remote-mcp or stdio server whose config declares interceptors: the server's
// request chain rewrites the arguments before they are forwarded, its response chain reshapes a
// successful result. Without chains the call goes straight to the upstream (dispatch.ts).
import { InterceptorFailure, type InterceptorContext } from '../interceptors/index.ts'
import type { CallTrace } from '../telemetry/debug-bus.ts'
import type { CompiledServer } from '../tools/compiled.ts'
import { interceptArguments, interceptedResult, mcpResultPayload, resultBytes } from '../tools/intercept.ts'
import { errorResult } from '../tools/result.ts'
import type { McpUpstream, UpstreamCallOptions } from '../upstreams/types.ts'

export interface InterceptedUpstreamCall {
  result: Record<string, unknown>
  intercepted?: { bytesBefore: number, bytesAfter: number }
  interceptorFailure?: InterceptorFailure
}

export async function callUpstreamIntercepted (
  server: CompiledServer, upstream: McpUpstream, name: string, args: Record<string, unknown>,
  endUserId: string | null, options: UpstreamCallOptions, debug?: CallTrace
): Promise<InterceptedUpstreamCall> {
  const ctx: InterceptorContext = { server: server.name, tool: name, arguments: args, endUserId }
  try {
    const forwarded = server.requestChain ? await interceptArguments(server.requestChain, args, ctx) : args
    // The live debug console (only while someone is subscribed) sees what is forwarded and its answer.
    const result = debug ? await debug.forward(name, forwarded, () => upstream.callTool(name, forwarded, options)) : await upstream.callTool(name, forwarded, options)
    if (!server.responseChain || result.isError === true) return { result }
    const payload = mcpResultPayload(result)
    if (!payload) return { result } // images, resources, several items: passed through as they are
    const bytesBefore = payload.byteLength()
    const output = await server.responseChain.run(payload, ctx)
    // Text only: the reshaped value no longer fits the upstream's output schema, which tools/list
    // therefore leaves out for a server with a response chain (dispatch.ts).
    const shaped = interceptedResult(output, false)
    return { result: shaped as unknown as Record<string, unknown>, intercepted: { bytesBefore, bytesAfter: resultBytes(shaped) } }
  } catch (err) {
    if (!(err instanceof InterceptorFailure)) throw err
    return { result: errorResult(err.message) as unknown as Record<string, unknown>, interceptorFailure: err }
  }
}
