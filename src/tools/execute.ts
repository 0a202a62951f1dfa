// One tool call: validated arguments → upstream HTTP request → MCP tool result. Everything here
// was compiled beforehand; per call it only concatenates strings and streams bytes.
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { describeAjvErrors } from '../config/ajv.ts'
import { InterceptorFailure, type InterceptorContext } from '../interceptors/index.ts'
import { ConsentRequired } from '../oauth/errors.ts'
import { consentScopes } from '../oauth/tokens.ts'
import type { UpstreamTokens } from '../oauth/tokens.ts'
import type { Grant } from '../oauth/vault.ts'
import type { CompiledTool, TokenInjection } from './compiled.ts'
import type { CallDebug } from '../telemetry/debug-bus.ts'
import { bodyPayload, interceptArguments, interceptedResult, redactedHeaders, resultBytes } from './intercept.ts'
import type { UpstreamPools } from './pools.ts'
import { errorResult, successResult, upstreamErrorResult, type ToolResult } from './result.ts'

export interface CallOutcome {
  result: ToolResult
  /** Upstream HTTP status, when a response arrived. */
  upstreamStatus?: number
  upstreamBytes: number
  upstreamMs: number
  errorKind?: 'invalid_arguments' | 'upstream_status' | 'invalid_output' | 'timeout' | 'too_large' | 'unreachable' | 'cancelled' | 'interceptor' | 'unauthorized' | 'consent_required' | 'token_unavailable'
  /** Set when a response chain ran: bytes it was given and bytes the tool returned. */
  intercepted?: { bytesBefore: number, bytesAfter: number }
  /** The interceptor that failed (its logFields() are safe to log; its message is not). */
  interceptorFailure?: InterceptorFailure
}

export interface CallOptions {
  /** Aborts the upstream exchange (client cancellation). */
  signal?: AbortSignal
  /** The calling end user, for interceptors' ctx and their upstream OAuth token. */
  endUserId?: string | null
  /** End users' upstream tokens, for tools whose provider uses OAuth. */
  tokens?: UpstreamTokens
  /** The live debug console's trace; present only while someone is subscribed (src/telemetry/debug-bus.ts). */
  debug?: CallDebug | undefined
}

class ArgumentError extends Error {}

function scalar (value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** Percent-encodes one value. JSON strings may hold lone surrogates, which UTF-8 cannot encode. */
function encode (argument: string, text: string): string {
  if (!text.isWellFormed()) throw new ArgumentError(`${argument}: is not well-formed Unicode (lone surrogate)`)
  return encodeURIComponent(text)
}

/** One path segment: fully percent-encoded, so no value can add a segment or change the host. */
function pathSegment (argument: string, value: unknown): string {
  const text = scalar(value)
  // "." and ".." would be normalised away by the upstream and climb out of the template.
  if (text === '' || text === '.' || text === '..') throw new ArgumentError(`${argument}: "${text}" is not allowed as a path segment`)
  return encode(argument, text)
}

export function buildPath (tool: CompiledTool, args: Record<string, unknown>): string {
  let path = tool.pathLiterals[0]!
  for (let i = 0; i < tool.pathArguments.length; i++) {
    const argument = tool.pathArguments[i]!
    path += pathSegment(argument, args[argument]) + tool.pathLiterals[i + 1]!
  }
  let separator = path.includes('?') ? '&' : '?'
  for (const { argument, name } of tool.query) {
    const value = args[argument]
    if (value === undefined || value === null) continue
    const key = encodeURIComponent(name)
    for (const item of Array.isArray(value) ? value : [value]) {
      path += separator + key + '=' + encode(argument, scalar(item))
      separator = '&'
    }
  }
  return path
}

const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/

function buildHeaders (tool: CompiledTool, args: Record<string, unknown>, hasBody: boolean): Record<string, string> {
  const headers: Record<string, string> = { ...tool.staticHeaders }
  for (const { argument, name } of tool.headers) {
    const value = args[argument]
    if (value === undefined || value === null) continue
    const text = scalar(value)
    if (/[\r\n\0]/.test(text)) throw new ArgumentError(`${argument}: header values cannot contain line breaks`)
    // What undici accepts (tab, visible ASCII, Latin-1); checked here so that a bad value is the
    // caller's argument error, not an "upstream unreachable" from deep inside the request.
    if (INVALID_HEADER_VALUE.test(text)) throw new ArgumentError(`${argument}: header values may contain only tab, visible ASCII and Latin-1 characters`)
    headers[name] = text
  }
  if (hasBody && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
  if (headers['user-agent'] === undefined) headers['user-agent'] = 'toolgate'
  return headers
}

function buildBody (tool: CompiledTool, args: Record<string, unknown>): string | undefined {
  if (tool.body.length === 0) return undefined
  const body: Record<string, unknown> = {}
  let any = false
  for (const { argument, name } of tool.body) {
    if (args[argument] === undefined) continue
    body[name] = args[argument]
    any = true
  }
  return any || tool.method !== 'DELETE' ? JSON.stringify(body) : undefined
}

export function invalidArgumentsMessage (tool: CompiledTool): string {
  const problems = describeAjvErrors(tool.validateArguments.errors)
  return `Invalid arguments for tool ${tool.name}: ` + problems.map(p => `${p.path || '(arguments)'}: ${p.message}`).join('; ')
}

function interceptorContext (tool: CompiledTool, args: Record<string, unknown>, options: CallOptions): InterceptorContext {
  return { server: tool.serverName, tool: tool.name, arguments: args, endUserId: options.endUserId ?? null }
}

/** An interceptor's failure as the call's outcome: an isError result that names it (and its line). */
export function interceptorFailed (failure: InterceptorFailure, partial: Omit<CallOutcome, 'result'>): CallOutcome {
  return { ...partial, result: errorResult(failure.message), errorKind: 'interceptor', interceptorFailure: failure }
}

export async function executeTool (tool: CompiledTool, rawArgs: unknown, pools: UpstreamPools, options: CallOptions = {}): Promise<CallOutcome> {
  const started = performance.now()
  let args = (rawArgs ?? {}) as Record<string, unknown>
  if (!tool.validateArguments(args)) {
    return { result: errorResult(invalidArgumentsMessage(tool)), upstreamBytes: 0, upstreamMs: 0, errorKind: 'invalid_arguments' }
  }
  const validArgs = args
  if (tool.requestChain) {
    try {
      args = await interceptArguments(tool.requestChain, args, interceptorContext(tool, validArgs, options))
    } catch (err) {
      if (!(err instanceof InterceptorFailure)) throw err
      return interceptorFailed(err, { upstreamBytes: 0, upstreamMs: 0 })
    }
  }

  let path: string, headers: Record<string, string>, body: string | undefined
  try {
    path = buildPath(tool, args)
    body = buildBody(tool, args)
    headers = buildHeaders(tool, args, body !== undefined)
  } catch (err) {
    if (!(err instanceof ArgumentError)) throw err
    return { result: errorResult(`Invalid arguments for tool ${tool.name}: ${err.message}`), upstreamBytes: 0, upstreamMs: 0, errorKind: 'invalid_arguments' }
  }

  let fetched: UpstreamAnswer | { outcome: CallOutcome }
  if (tool.oauth) {
    // ConsentRequired / TokenUnavailable propagate: the MCP layer answers them per protocol era.
    if (!options.tokens || !options.endUserId) return { result: errorResult(`Tool ${tool.name} needs an end user's ${tool.oauth.name} authorization`), upstreamBytes: 0, upstreamMs: 0, errorKind: 'unauthorized' }
    const oauth = tool.oauth
    const tokens = options.tokens
    const endUserId = options.endUserId
    const send = async (grant: Grant) => {
      const withPath = withToken(path, oauth.inject, grant)
      const withHeaders = withTokenHeader(headers, oauth.inject, grant)
      // The debug console never shows the end user's token, wherever it was injected.
      options.debug?.upstreamRequest(tool, withPath, withHeaders, body, { secrets: [grant.accessToken], ...('header' in oauth.inject ? { headers: [oauth.inject.header] } : { query: [oauth.inject.query] }) })
      return await fetchUpstream(tool, withPath, withHeaders, body, pools, options, started)
    }
    let grant = await tokens.forCall(endUserId, oauth, tool.scopes)
    fetched = await send(grant)
    // A 401 may mean the token was revoked or expired early: refresh once and retry, then consent.
    if ('outcome' in fetched && fetched.outcome.upstreamStatus === 401) {
      grant = await tokens.afterRejection(endUserId, oauth, grant, tool.scopes)
      fetched = await send(grant)
      if ('outcome' in fetched && fetched.outcome.upstreamStatus === 401) throw new ConsentRequired('rejected', oauth, consentScopes(oauth, tool.scopes))
    }
  } else {
    options.debug?.upstreamRequest(tool, path, headers, body)
    fetched = await fetchUpstream(tool, path, headers, body, pools, options, started)
  }
  if ('outcome' in fetched) return fetched.outcome
  const { status, received, upstreamMs } = fetched
  const rawType = fetched.headers['content-type']
  const contentType = Array.isArray(rawType) ? rawType[0] : rawType
  const payload = tool.responseChain ? bodyPayload(contentType, fetched.bytes) : undefined
  if (tool.responseChain && payload) {
    const ctx: InterceptorContext = { ...interceptorContext(tool, validArgs, options), status, headers: redactedHeaders(fetched.headers) }
    try {
      const output = await tool.responseChain.run(payload, ctx)
      const result = conformingOutput(tool, interceptedResult(output, tool.hasOutputSchema))
      const outcome: CallOutcome = { result, upstreamStatus: status, upstreamBytes: received, upstreamMs, intercepted: { bytesBefore: received, bytesAfter: resultBytes(result) } }
      if (result.isError) outcome.errorKind = 'invalid_output'
      return outcome
    } catch (err) {
      if (!(err instanceof InterceptorFailure)) throw err
      return interceptorFailed(err, { upstreamStatus: status, upstreamBytes: received, upstreamMs })
    }
  }
  const result = successResult(contentType, fetched.bytes, tool.hasOutputSchema, `toolgate://${tool.serverName}/tools/${tool.name}/result`)
  const outcome: CallOutcome = { result: conformingOutput(tool, result), upstreamStatus: status, upstreamBytes: received, upstreamMs }
  if (outcome.result.isError) outcome.errorKind = 'invalid_output'
  return outcome
}

/** The path with the end user's token as a query parameter, when the provider wants it there. */
function withToken (path: string, inject: TokenInjection, grant: Grant): string {
  if (!('query' in inject)) return path
  return path + (path.includes('?') ? '&' : '?') + encodeURIComponent(inject.query) + '=' + encodeURIComponent(grant.accessToken)
}

function withTokenHeader (headers: Record<string, string>, inject: TokenInjection, grant: Grant): Record<string, string> {
  if (!('header' in inject)) return headers
  return { ...headers, [inject.header]: inject.scheme ? `${inject.scheme} ${grant.accessToken}` : grant.accessToken }
}

/** A successful (2xx) upstream answer, read whole within the size cap. */
interface UpstreamAnswer {
  status: number
  headers: IncomingHttpHeaders
  bytes: Buffer
  received: number
  upstreamMs: number
}

/**
 * The upstream exchange, under the tool's timeout and the caller's cancellation. Anything but a
 * complete 2xx body is already the call's outcome. Interceptors run after it, outside the timeout.
 */
async function fetchUpstream (
  tool: CompiledTool, path: string, headers: Record<string, string>, body: string | undefined,
  pools: UpstreamPools, options: CallOptions, started: number
): Promise<UpstreamAnswer | { outcome: CallOutcome }> {
  const controller = new AbortController()
  const signal = controller.signal
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; controller.abort() }, tool.timeoutMs)
  const onCancel = () => controller.abort()
  if (options.signal?.aborted) controller.abort()
  else options.signal?.addEventListener('abort', onCancel, { once: true })
  let status: number | undefined
  let received = 0
  try {
    const response = await pools.get(tool.origin).request({ method: tool.method as 'GET', path, headers, body, signal })
    status = response.statusCode
    // An error status says more than its body's size, so an oversized error body is cut (an
    // excerpt is all the result shows) rather than turned into a "too large" result.
    // Redirects are not followed (a redirect could carry injected credentials to another host),
    // so a 3xx is reported like an error status, with its Location in the text.
    const failed = status >= 300
    const declared = Number(response.headers['content-length'])
    if (declared > tool.maxResponseBytes && !failed) {
      options.debug?.upstreamResponse(tool, status, response.headers, undefined, declared, performance.now() - started)
      discard(response.body)
      return { outcome: tooLarge(tool, status, declared, started) }
    }
    const chunks: Buffer[] = []
    const complete = await new Promise<boolean>((resolve, reject) => {
      const body = response.body
      const onData = (chunk: Buffer) => {
        received += chunk.length
        chunks.push(chunk)
        if (received > tool.maxResponseBytes) {
          body.off('data', onData)
          discard(body)
          resolve(false)
        }
      }
      body.on('data', onData)
      body.once('end', () => resolve(true))
      body.once('error', reject)
    })
    if (!complete && !failed) {
      options.debug?.upstreamResponse(tool, status, response.headers, undefined, received, performance.now() - started)
      return { outcome: tooLarge(tool, status, received, started) }
    }
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)
    const upstreamMs = performance.now() - started
    options.debug?.upstreamResponse(tool, status, response.headers, bytes, received, upstreamMs)
    if (failed) {
      const location = status < 400 ? response.headers.location : undefined
      const statusText = (STATUS_CODES[status] ?? '') + (location ? ` (redirect to ${String(location)} not followed)` : '')
      const result = upstreamErrorResult(status, statusText, bytes, complete)
      return { outcome: { result, upstreamStatus: status, upstreamBytes: received, upstreamMs, errorKind: 'upstream_status' } }
    }
    return { status, headers: response.headers, bytes, received, upstreamMs }
  } catch (err) {
    const upstreamMs = performance.now() - started
    if (signal.aborted) {
      const kind = timedOut ? 'timeout' : 'cancelled'
      const text = kind === 'timeout'
        ? `Upstream did not answer within ${tool.timeoutMs} ms (tool ${tool.name})`
        : `Call to tool ${tool.name} was cancelled`
      return { outcome: { result: errorResult(text), upstreamStatus: status, upstreamBytes: received, upstreamMs, errorKind: kind } }
    }
    const code = (err as { code?: string }).code
    return {
      outcome: {
        result: errorResult(`Upstream unreachable for tool ${tool.name}${code ? ` (${code})` : ''}`),
        upstreamStatus: status,
        upstreamBytes: received,
        upstreamMs,
        errorKind: 'unreachable'
      }
    }
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onCancel)
  }
}

/** A result whose structuredContent breaks the declared output schema is an error naming the paths. */
function conformingOutput (tool: CompiledTool, result: ToolResult): ToolResult {
  if (!tool.validateOutput || result.structuredContent === undefined || tool.validateOutput(result.structuredContent)) return result
  const problems = describeAjvErrors(tool.validateOutput.errors).map(p => `${p.path || '(result)'}: ${p.message}`).join('; ')
  return errorResult(`Upstream response does not match the output schema of tool ${tool.name}: ${problems}`)
}

/**
 * Drops a body we stop reading. undici reports the destroy as an 'error' event (RequestAbortedError);
 * with no listener that event would crash the process, so it is absorbed here.
 */
function discard (body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

function tooLarge (tool: CompiledTool, status: number, bytes: number, started: number): CallOutcome {
  return {
    result: errorResult(`Upstream response too large for tool ${tool.name}: more than ${tool.maxResponseBytes} bytes (limit maxResponseBytes)`),
    upstreamStatus: status,
    upstreamBytes: bytes,
    upstreamMs: performance.now() - started,
    errorKind: 'too_large'
  }
}
