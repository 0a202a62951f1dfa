// The fixture's 2026-07-28 face: stateless, every request carries its own
// `_meta["io.modelcontextprotocol/…"]` envelope and routing headers. Hand-written rather than
// taken from an SDK so each answer is exactly what the 0.2.0-alpha.12 scenarios ask for:
// header/_meta ladder (-32020, -32602, -32022), server/discover, resultType, ttlMs/cacheScope,
// 404 + -32601 for removed or unknown methods, -32021 for undeclared client capabilities,
// input_required results with HMAC-protected requestState (SEP-2322), subscriptions/listen.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  COMMON_TOOLS, FIXTURE_INFO, PROMPTS, RESOURCE_TEMPLATES, RESOURCES, complete, getPrompt, readResource, staticToolResult
} from './fixture-catalog.ts'
import type { ListKind } from './fixture-changes.ts'

type Json = Record<string, unknown>

export const MODERN_VERSION = '2026-07-28'
/** What server/discover and -32022 report: this face plus the 2025 eras of fixture-legacy.ts. */
export const SUPPORTED_VERSIONS = [MODERN_VERSION, '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']

const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId'
}

const CAPABILITIES = {
  tools: { listChanged: true },
  resources: { listChanged: true },
  prompts: { listChanged: true },
  completions: {},
  logging: {}
}

/** Which params field the Mcp-Name header mirrors, per method. */
const NAME_FIELD: Record<string, 'name' | 'uri'> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' }

const NO_ARGS = { type: 'object', properties: {} }
const MODERN_TOOLS: Json[] = [
  ...COMMON_TOOLS,
  ...[
    'test_input_required_result_elicitation', 'test_input_required_result_sampling', 'test_input_required_result_list_roots',
    'test_input_required_result_request_state', 'test_input_required_result_multiple_inputs', 'test_input_required_result_multi_round',
    'test_input_required_result_tampered_state', 'test_input_required_result_capabilities'
  ].map(name => ({ name, description: `Returns an input_required result first (SEP-2322): ${name.slice('test_input_required_result_'.length)}`, inputSchema: NO_ARGS })),
  { name: 'test_missing_capability', description: 'Needs the client sampling capability; -32021 without it', inputSchema: NO_ARGS },
  { name: 'test_streaming_elicitation', description: 'Asks for input through an input_required result, never a request on the stream', inputSchema: NO_ARGS },
  { name: 'test_logging_tool', description: 'Logs only when the request sets a log level', inputSchema: NO_ARGS },
  { name: 'test_trigger_tool_change', description: 'Announces a tool list change to open subscriptions', inputSchema: NO_ARGS },
  { name: 'test_trigger_prompt_change', description: 'Announces a prompt list change to open subscriptions', inputSchema: NO_ARGS }
]

const MODERN_PROMPTS: Json[] = [
  ...PROMPTS,
  { name: 'test_input_required_result_prompt', description: 'Asks for context through an input_required result first (SEP-2322)' }
]

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

class RpcFailure extends Error {
  code: number
  status: number
  data: unknown
  constructor (status: number, code: number, message: string, data?: unknown) {
    super(message)
    this.status = status
    this.code = code
    this.data = data
  }
}

const elicit = (message: string, property: string, type = 'string') => ({
  method: 'elicitation/create',
  params: { mode: 'form', message, requestedSchema: { type: 'object', properties: { [property]: { type } }, required: [property] } }
})
const sample = (text: string, maxTokens: number) => ({
  method: 'sampling/createMessage',
  params: { messages: [{ role: 'user', content: { type: 'text', text } }], maxTokens }
})
const LIST_ROOTS = { method: 'roots/list', params: {} }

/** One request's view: its params, envelope and a way to stream notifications before the result. */
interface Exchange {
  id: string | number
  params: Json
  capabilities: Json
  logLevel: string | undefined
  notify (method: string, params: Json): void
}

export interface ModernFixture {
  handle (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>
  close (): void
}

export function modernFixture (changes: EventEmitter<{ change: [ListKind] }>): ModernFixture {
  const stateKey = randomBytes(32)
  const openStreams = new Set<ServerResponse>()

  // requestState: base64url(JSON) "." HMAC, so a tampered state is detected (SEP-2322 MUST).
  const mintState = (value: Json) => {
    const payload = Buffer.from(JSON.stringify(value)).toString('base64url')
    return `${payload}.${createHmac('sha256', stateKey).update(payload).digest('base64url')}`
  }
  const openState = (state: unknown): Json => {
    const [payload, mac] = typeof state === 'string' ? state.split('.') : []
    const expected = payload === undefined ? undefined : createHmac('sha256', stateKey).update(payload).digest()
    const given = mac === undefined ? undefined : Buffer.from(mac, 'base64url')
    if (!expected || !given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new RpcFailure(200, -32602, 'Invalid params: requestState failed its integrity check')
    }
    return JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Json
  }

  /** inputResponses: absent → undefined; present but not an object of objects → -32602. */
  const inputResponses = (params: Json): Record<string, Json> | undefined => {
    if (!('inputResponses' in params)) return undefined
    const responses = params.inputResponses
    if (typeof responses !== 'object' || responses === null || Array.isArray(responses)) throw new RpcFailure(200, -32602, 'Invalid params: inputResponses must be an object')
    for (const [key, value] of Object.entries(responses)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RpcFailure(200, -32602, `Invalid params: inputResponses.${key} must be an object`)
    }
    return responses as Record<string, Json>
  }

  const inputRequired = (inputRequests: Json, requestState?: string): Json =>
    ({ resultType: 'input_required', inputRequests, ...(requestState === undefined ? {} : { requestState }) })
  const text = (value: string): Json => ({ content: [{ type: 'text', text: value }] })
  const accepted = (response: Json | undefined, field: string): unknown => (response?.content as Json | undefined)?.[field]

  const requireCapability = (exchange: Exchange, capability: string) => {
    if (exchange.capabilities[capability] === undefined) {
      throw new RpcFailure(400, -32021, `Missing required client capability: ${capability}`, { requiredCapabilities: { [capability]: {} } })
    }
  }

  const log = (exchange: Exchange, level: string, data: string) => {
    // 2026-07-28: no notifications/message unless this request asked for a level.
    if (exchange.logLevel === undefined || LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(exchange.logLevel)) return
    exchange.notify('notifications/message', { level, logger: 'conformance-fixture', data })
  }

  const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

  async function callTool (exchange: Exchange): Promise<Json> {
    const name = String(exchange.params.name ?? '')
    const args = (exchange.params.arguments ?? {}) as Json
    const fixed = staticToolResult(name, args)
    if (fixed) return fixed
    const responses = () => inputResponses(exchange.params)
    switch (name) {
      case 'test_tool_with_logging':
        for (const [i, data] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
          if (i > 0) await sleep(50)
          log(exchange, 'info', data)
        }
        return text('Tool with logging executed successfully')
      case 'test_tool_with_progress': {
        const progressToken = (exchange.params._meta as Json | undefined)?.progressToken
        for (const progress of [0, 50, 100]) {
          if (progress > 0) await sleep(50)
          if (progressToken !== undefined) exchange.notify('notifications/progress', { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` })
        }
        return text(String(progressToken ?? 'no progress token'))
      }
      case 'test_input_required_result_elicitation': {
        requireCapability(exchange, 'elicitation')
        const answer = responses()?.user_name
        // A missing or wrong key is asked for again rather than refused (SEP-2322 SHOULD).
        if (!answer) return inputRequired({ user_name: elicit('What is your name?', 'name') })
        if (typeof accepted(answer, 'name') !== 'string') throw new RpcFailure(200, -32602, 'Invalid params: inputResponses.user_name is not an accepted elicitation with a name')
        return text(`Hello, ${String(accepted(answer, 'name'))}!`)
      }
      case 'test_input_required_result_sampling': {
        requireCapability(exchange, 'sampling')
        const answer = responses()?.capital_question
        if (!answer) return inputRequired({ capital_question: sample('What is the capital of France?', 100) })
        const content = answer.content as Json | undefined
        return text(`Sampling answered: ${String(content?.text ?? JSON.stringify(content))}`)
      }
      case 'test_input_required_result_list_roots': {
        requireCapability(exchange, 'roots')
        const answer = responses()?.client_roots
        if (!answer) return inputRequired({ client_roots: LIST_ROOTS })
        const roots = Array.isArray(answer.roots) ? answer.roots as Json[] : []
        return text(`Client roots: ${roots.map(root => String(root.uri)).join(', ') || '(none)'}`)
      }
      case 'test_input_required_result_request_state':
      case 'test_input_required_result_tampered_state': {
        requireCapability(exchange, 'elicitation')
        const answer = responses()?.confirm
        if (!answer || exchange.params.requestState === undefined) {
          return inputRequired({ confirm: elicit('Please confirm', 'ok', 'boolean') }, mintState({ tool: name, round: 1 }))
        }
        const state = openState(exchange.params.requestState)
        if (state.tool !== name) throw new RpcFailure(200, -32602, 'Invalid params: requestState belongs to another request')
        return text(`state-ok: confirmed=${String(accepted(answer, 'ok'))}`)
      }
      case 'test_input_required_result_multiple_inputs': {
        for (const capability of ['elicitation', 'sampling', 'roots']) requireCapability(exchange, capability)
        const given = responses()
        const wanted = {
          user_name: elicit('What is your name?', 'name'),
          greeting: sample('Generate a greeting', 50),
          client_roots: LIST_ROOTS
        }
        const missing = Object.fromEntries(Object.entries(wanted).filter(([key]) => !given?.[key]))
        if (Object.keys(missing).length > 0 || exchange.params.requestState === undefined) {
          return inputRequired(Object.keys(missing).length > 0 ? missing : wanted, mintState({ tool: name }))
        }
        openState(exchange.params.requestState)
        return text(`All inputs received: ${Object.keys(wanted).join(', ')}`)
      }
      case 'test_input_required_result_multi_round': {
        requireCapability(exchange, 'elicitation')
        const given = responses()
        if (exchange.params.requestState === undefined || !given) {
          return inputRequired({ step1: elicit('Step 1: What is your name?', 'name') }, mintState({ tool: name, round: 1 }))
        }
        const state = openState(exchange.params.requestState)
        if (state.round === 1 && given.step1) {
          return inputRequired({ step2: elicit('Step 2: What is your favorite color?', 'color') }, mintState({ tool: name, round: 2, name: accepted(given.step1, 'name') }))
        }
        if (state.round === 2 && given.step2) return text(`${String(state.name)} likes ${String(accepted(given.step2, 'color'))}`)
        return inputRequired(state.round === 2 ? { step2: elicit('Step 2: What is your favorite color?', 'color') } : { step1: elicit('Step 1: What is your name?', 'name') }, exchange.params.requestState as string)
      }
      case 'test_input_required_result_capabilities': {
        // Only ask for what the client declared (SEP-2322: respect client capabilities).
        const wanted: Json = {}
        if (exchange.capabilities.elicitation !== undefined) wanted.user_name = elicit('What is your name?', 'name')
        if (exchange.capabilities.sampling !== undefined) wanted.greeting = sample('Generate a greeting', 50)
        if (exchange.capabilities.roots !== undefined) wanted.client_roots = LIST_ROOTS
        const given = responses()
        if (Object.keys(wanted).length === 0 || (given && Object.keys(wanted).every(key => given[key]))) return text('Capabilities respected')
        return inputRequired(wanted)
      }
      case 'test_missing_capability':
        requireCapability(exchange, 'sampling')
        if (responses()?.probe) return text('sampling answered')
        return inputRequired({ probe: sample('Say hello', 10) })
      case 'test_streaming_elicitation':
        requireCapability(exchange, 'elicitation')
        if (responses()?.question) return text('elicitation answered')
        return inputRequired({ question: elicit('Anything to add?', 'answer') })
      case 'test_logging_tool':
        log(exchange, 'info', 'test_logging_tool ran')
        return text('logged only if asked')
      case 'test_trigger_tool_change':
        changes.emit('change', 'tools')
        return text('tools/list_changed announced')
      case 'test_trigger_prompt_change':
        changes.emit('change', 'prompts')
        return text('prompts/list_changed announced')
      default:
        throw new RpcFailure(200, -32602, `Unknown tool: ${name}`)
    }
  }

  async function getPromptResult (exchange: Exchange): Promise<Json> {
    const name = String(exchange.params.name ?? '')
    if (name === 'test_input_required_result_prompt') {
      requireCapability(exchange, 'elicitation')
      const answer = inputResponses(exchange.params)?.user_context
      if (!answer) return inputRequired({ user_context: elicit('What context should the prompt use?', 'context') })
      return { messages: [{ role: 'user', content: { type: 'text', text: `Use this context: ${String(accepted(answer, 'context'))}` } }] }
    }
    const prompt = getPrompt(name, (exchange.params.arguments ?? {}) as Record<string, string>)
    if (!prompt) throw new RpcFailure(200, -32602, `Unknown prompt: ${name}`)
    return prompt
  }

  const cacheable = (result: Json): Json => ({ ...result, ttlMs: 0, cacheScope: 'public' })

  async function dispatch (method: string, exchange: Exchange): Promise<Json> {
    switch (method) {
      case 'server/discover':
        return cacheable({
          supportedVersions: SUPPORTED_VERSIONS,
          capabilities: CAPABILITIES,
          instructions: 'Conformance fixture for Toolgate.',
          _meta: { [META.serverInfo]: FIXTURE_INFO }
        })
      case 'tools/list': return cacheable({ tools: MODERN_TOOLS })
      case 'tools/call': return callTool(exchange)
      case 'resources/list': return cacheable({ resources: RESOURCES })
      case 'resources/templates/list': return cacheable({ resourceTemplates: RESOURCE_TEMPLATES })
      case 'resources/read': {
        const uri = String(exchange.params.uri ?? '')
        const contents = readResource(uri)
        // SEP-2164: never empty contents for an unknown URI; -32602 with the URI.
        if (!contents) throw new RpcFailure(200, -32602, 'Resource not found', { uri })
        return cacheable({ contents })
      }
      case 'prompts/list': return cacheable({ prompts: MODERN_PROMPTS })
      case 'prompts/get': return getPromptResult(exchange)
      case 'completion/complete': return complete(String((exchange.params.argument as Json | undefined)?.value ?? ''))
      default:
        throw new RpcFailure(404, -32601, `Method not found: ${method}`)
    }
  }

  const sendJson = (res: ServerResponse, status: number, message: Json) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(message))
  }
  const errorMessage = (id: unknown, failure: RpcFailure): Json =>
    ({ jsonrpc: '2.0', id: id ?? null, error: { code: failure.code, message: failure.message, ...(failure.data === undefined ? {} : { data: failure.data }) } })

  /** The envelope checks, in the order the spec's ladder gives them. */
  function checkEnvelope (req: IncomingMessage, method: string, params: Json): void {
    const header = req.headers['mcp-protocol-version']
    if (typeof header !== 'string') throw new RpcFailure(400, -32020, 'Missing MCP-Protocol-Version header')
    const meta = params._meta as Json | undefined
    const missing = [META.protocolVersion, META.clientCapabilities].filter(key => meta?.[key] === undefined)
    if (missing.length > 0) throw new RpcFailure(400, -32602, `Invalid params: missing _meta keys: ${missing.join(', ')}`)
    if (meta![META.protocolVersion] !== header) throw new RpcFailure(400, -32020, 'MCP-Protocol-Version header does not match _meta protocolVersion')
    if (header !== MODERN_VERSION) throw new RpcFailure(400, -32022, 'Unsupported protocol version', { supported: SUPPORTED_VERSIONS, requested: header })
    // SEP-2243: Mcp-Method always, Mcp-Name for the named methods; missing or different → -32020.
    const methodHeader = req.headers['mcp-method']
    if (methodHeader !== method) throw new RpcFailure(400, -32020, `Mcp-Method header ${JSON.stringify(methodHeader ?? null)} does not match the body method "${method}"`)
    const field = NAME_FIELD[method]
    const nameHeader = req.headers['mcp-name']
    if (field && nameHeader !== String(params[field] ?? '')) throw new RpcFailure(400, -32020, `Mcp-Name header does not match params.${field}`)
  }

  /**
   * SEP-2243 custom headers: each argument whose schema has `x-mcp-header: <Name>` must arrive as
   * `Mcp-Param-<Name>` too, plain or `=?base64?…?=` (strict Base64), equal to the body value.
   */
  function checkParamHeaders (req: IncomingMessage, params: Json): void {
    const tool = MODERN_TOOLS.find(t => t.name === params.name)
    const properties = ((tool?.inputSchema as Json | undefined)?.properties ?? {}) as Record<string, Json>
    const args = (params.arguments ?? {}) as Json
    for (const [property, schema] of Object.entries(properties)) {
      const headerName = schema['x-mcp-header']
      if (typeof headerName !== 'string' || args[property] === undefined || args[property] === null) continue
      const raw = req.headers[`mcp-param-${headerName.toLowerCase()}`]
      if (typeof raw !== 'string') throw new RpcFailure(400, -32020, `Missing Mcp-Param-${headerName} header for argument ${property}`)
      const wrapped = /^=\?base64\?(.*)\?=$/.exec(raw)
      let value = raw
      if (wrapped) {
        const encoded = wrapped[1]!
        if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new RpcFailure(400, -32020, `Mcp-Param-${headerName}: invalid Base64`)
        value = Buffer.from(encoded, 'base64').toString('utf8')
      }
      if (value !== String(args[property])) throw new RpcFailure(400, -32020, `Mcp-Param-${headerName} does not match argument ${property}`)
    }
  }

  function listen (res: ServerResponse, id: string | number, params: Json): void {
    const filter = (params.notifications ?? {}) as Json
    const honored: Json = {}
    for (const kind of ['tools', 'prompts', 'resources'] as const) if (filter[`${kind}ListChanged`] === true) honored[`${kind}ListChanged`] = true
    const meta = { [META.subscriptionId]: id }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    const send = (message: Json) => res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`)
    send({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: honored, _meta: meta } })
    const onChange = (kind: ListKind) => {
      if (honored[`${kind}ListChanged`] === true) send({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed`, params: { _meta: meta } })
    }
    changes.on('change', onChange)
    openStreams.add(res)
    res.on('close', () => {
      changes.off('change', onChange)
      openStreams.delete(res)
    })
  }

  return {
    async handle (req, res, body) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('Method Not Allowed')
        return
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: one JSON-RPC message per POST' } })
        return
      }
      const message = body as Json
      if (message.id === undefined) {
        res.writeHead(202).end() // notifications (e.g. notifications/cancelled) need no answer
        return
      }
      const id = message.id as string | number
      const method = String(message.method ?? '')
      const params = (message.params ?? {}) as Json
      let streaming = false
      try {
        checkEnvelope(req, method, params)
        if (method === 'tools/call') checkParamHeaders(req, params)
        if (method === 'subscriptions/listen') return listen(res, id, params)
        const meta = params._meta as Json
        const exchange: Exchange = {
          id,
          params,
          capabilities: (meta[META.clientCapabilities] ?? {}) as Json,
          logLevel: typeof meta[META.logLevel] === 'string' ? meta[META.logLevel] as string : undefined,
          notify (notificationMethod, notificationParams) {
            // The first notification turns the answer into an SSE stream (2026-07-28 transports).
            if (!streaming) {
              streaming = true
              res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
            }
            res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: notificationMethod, params: notificationParams })}\n\n`)
          }
        }
        const result = await dispatch(method, exchange)
        const response = { jsonrpc: '2.0', id, result: { resultType: 'complete', ...result } }
        if (streaming) res.end(`event: message\ndata: ${JSON.stringify(response)}\n\n`)
        else sendJson(res, 200, response)
      } catch (err) {
        const failure = err instanceof RpcFailure ? err : new RpcFailure(500, -32603, `Internal error: ${(err as Error).message}`)
        if (streaming) res.end(`event: message\ndata: ${JSON.stringify(errorMessage(id, failure))}\n\n`)
        else sendJson(res, failure.status, errorMessage(id, failure))
      }
    },
    close () {
      for (const res of openStreams) res.end()
      openStreams.clear()
    }
  }
}
