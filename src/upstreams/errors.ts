// What a failed upstream exchange becomes for the client, and what of it may be logged.
// JSON-RPC errors the upstream returned keep their code and message (the client talks MCP to the
// upstream through us). Transport failures become -32000 with a message naming the server and the
// kind of failure, never the upstream's error body (it may echo a request) or a header value.
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { RpcError, SERVER_ERROR } from '../mcp/jsonrpc.ts'
import { ToolgateError } from '../errors.ts'
import { StdioNotRunningError } from './stdio-errors.ts'

/** An upstream HTTP response body over the server's maxResponseBytes: that request fails, the session stays. */
export class UpstreamResponseTooLargeError extends ToolgateError {
  constructor (limit: number) {
    super('TG_ERR_UPSTREAM_TOO_LARGE', 502, `upstream response over ${limit} bytes (maxResponseBytes)`)
    this.name = 'UpstreamResponseTooLargeError'
  }
}

/** The SDK prefixes "MCP error <code>: " to the upstream's message; clients get the message as sent. */
const SDK_PREFIX = /^MCP error -?\d+: /

/** The code of a network failure under fetch's "fetch failed" (ECONNREFUSED, UND_ERR_SOCKET…). */
function networkCode (err: unknown): string | undefined {
  let cause: unknown = err
  for (let depth = 0; depth < 4 && cause && typeof cause === 'object'; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string') return code
    cause = (cause as { cause?: unknown }).cause
  }
  return undefined
}

/** A short description of a transport failure that is safe to log and to show: a status or an error code, no bodies. */
export function describeFailure (err: unknown): string {
  if (err instanceof StreamableHTTPError) return err.code === -1 ? 'unexpected response content type' : `HTTP ${err.code}`
  if (err instanceof SseError) return err.code === undefined ? 'SSE stream error' : `SSE stream error (HTTP ${err.code})`
  if (err instanceof ToolgateError) return err.message
  if (err instanceof McpError) return `MCP error ${err.code}`
  const code = networkCode(err)
  if (code !== undefined) return code
  if (err instanceof Error && err.name === 'AbortError') return 'aborted'
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out'
  return err instanceof Error ? err.name : 'unknown error'
}

/**
 * Whether the upstream refused the request without handling it because our session is gone:
 * 404 is the spec's answer for an unknown session; many servers (the SDK examples among them)
 * answer 400 instead. Safe to re-initialize and send again.
 */
export function isSessionGone (err: unknown): boolean {
  return err instanceof StreamableHTTPError && (err.code === 404 || err.code === 400)
}

/**
 * Whether the session itself is broken (as opposed to one request failing): the network failed,
 * the upstream no longer knows our session, the SSE stream or the client is gone. An upstream that
 * answers one request with 401, 403 or 500 keeps its session: a new one would not fare better.
 */
export function isConnectionFailure (err: unknown): boolean {
  if (err instanceof UpstreamResponseTooLargeError) return false
  if (isSessionGone(err) || err instanceof SseError) return true
  if (err instanceof StreamableHTTPError || err instanceof McpError || err instanceof RpcError) return false
  if (err instanceof Error && err.message === 'Not connected') return true
  return networkCode(err) !== undefined
}

/** A request that never reached the upstream (connection refused, closed client): safe to send again. */
export function neverDelivered (err: unknown): boolean {
  if (isSessionGone(err)) return true
  const code = networkCode(err)
  if (code === 'ECONNREFUSED' || err instanceof StdioNotRunningError) return true
  return err instanceof Error && err.message === 'Not connected'
}

export function toRpcError (err: unknown, serverName: string): RpcError {
  if (err instanceof RpcError) return err
  if (err instanceof McpError) return new RpcError(err.code, err.message.replace(SDK_PREFIX, ''), err.data)
  if (err instanceof Error && err.name === 'AbortError') return new RpcError(SERVER_ERROR, 'Request cancelled')
  return new RpcError(SERVER_ERROR, `Upstream MCP server of "${serverName}" failed: ${describeFailure(err)}`)
}
