// The fixture's 2024-11-05 … 2025-11-25 face: the official SDK v1 (1.32.2) low-level Server over
// its StreamableHTTPServerTransport, one server per session, so sessions, GET streams, DELETE,
// SSE resumability and server→client requests (sampling, elicitation) behave as the reference
// SDK does. Tools, resources and prompts come from fixture-catalog.ts.
import { randomUUID } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import {
  CallToolRequestSchema, CompleteRequestSchema, CreateMessageResultSchema, ElicitResultSchema, GetPromptRequestSchema,
  ListPromptsRequestSchema, ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ListToolsRequestSchema,
  McpError, ErrorCode, ReadResourceRequestSchema, SetLevelRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema
} from '@modelcontextprotocol/sdk/types.js'
import {
  COMMON_TOOLS, FIXTURE_INFO, PROMPTS, RESOURCE_TEMPLATES, RESOURCES, complete, getPrompt, readResource, staticToolResult
} from './fixture-catalog.ts'
import type { ListKind } from './fixture-changes.ts'

type Json = Record<string, unknown>

const LEGACY_TOOLS: Json[] = [
  ...COMMON_TOOLS,
  {
    name: 'test_sampling',
    description: 'Tests server-initiated sampling (LLM completion request)',
    inputSchema: { type: 'object', properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } }, required: ['prompt'] }
  },
  {
    name: 'test_elicitation',
    description: 'Tests server-initiated elicitation (user input request)',
    inputSchema: { type: 'object', properties: { message: { type: 'string', description: 'The message to show the user' } }, required: ['message'] }
  },
  { name: 'test_elicitation_sep1034_defaults', description: 'Tests elicitation with default values per SEP-1034', inputSchema: { type: 'object', properties: {} } },
  { name: 'test_elicitation_sep1330_enums', description: 'Tests elicitation with enum schema improvements per SEP-1330', inputSchema: { type: 'object', properties: {} } },
  {
    name: 'test_reconnection',
    description: 'Closes the SSE stream mid-call; the result arrives after the client reconnects (SEP-1699)',
    inputSchema: { type: 'object', properties: {} }
  },
  // 2026-07-28 diagnostics, in their 2025 form, so a gateway bridging eras can be judged:
  // this one always logs (a 2026 client that set no log level must not see it) …
  { name: 'test_logging_tool', description: 'Sends a log notification on every call', inputSchema: { type: 'object', properties: {} } },
  // … and this one asks for input with a server→client request (a 2026 client must never get one).
  { name: 'test_streaming_elicitation', description: 'Asks for input with elicitation/create', inputSchema: { type: 'object', properties: {} } },
  { name: 'test_missing_capability', description: 'Needs the client sampling capability; -32021 without it', inputSchema: { type: 'object', properties: {} } },
  { name: 'test_trigger_tool_change', description: 'Announces a tool list change to every session and subscription', inputSchema: { type: 'object', properties: {} } },
  { name: 'test_trigger_prompt_change', description: 'Announces a prompt list change to every session and subscription', inputSchema: { type: 'object', properties: {} } }
]

const SEP1034_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'User name', default: 'John Doe' },
    age: { type: 'integer', description: 'User age', default: 30 },
    score: { type: 'number', description: 'User score', default: 95.5 },
    status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
    verified: { type: 'boolean', description: 'Verification status', default: true }
  },
  required: []
}

const SEP1330_SCHEMA = {
  type: 'object',
  properties: {
    untitledSingle: { type: 'string', description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
    titledSingle: {
      type: 'string',
      description: 'Select one option with titles',
      oneOf: [{ const: 'value1', title: 'First Option' }, { const: 'value2', title: 'Second Option' }, { const: 'value3', title: 'Third Option' }]
    },
    legacyEnum: { type: 'string', description: 'Select one option (legacy)', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
    untitledMulti: { type: 'array', description: 'Select multiple options', minItems: 1, maxItems: 3, items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
    titledMulti: {
      type: 'array',
      description: 'Select multiple options with titles',
      minItems: 1,
      maxItems: 3,
      items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' }, { const: 'value3', title: 'Third Choice' }] }
    }
  },
  required: []
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** SEP-1699 resumability: events kept in memory per stream, replayed after Last-Event-ID. */
function memoryEventStore (): EventStore {
  const events = new Map<string, { streamId: string, message: unknown }>()
  let sequence = 0
  return {
    async storeEvent (streamId, message) {
      const eventId = `${streamId}::${String(++sequence).padStart(10, '0')}`
      events.set(eventId, { streamId, message })
      return eventId
    },
    async getStreamIdForEventId (eventId) {
      return events.get(eventId)?.streamId
    },
    async replayEventsAfter (lastEventId, { send }) {
      const streamId = events.get(lastEventId)?.streamId ?? lastEventId.split('::')[0]!
      for (const [eventId, event] of events) {
        if (event.streamId === streamId && eventId > lastEventId) await send(eventId, event.message as never)
      }
      return streamId
    }
  }
}

/**
 * One fixture server for one 2025-era session. `closeRequestStream` ends the SSE stream of a
 * request (Streamable HTTP only; a no-op on the legacy HTTP+SSE transport).
 */
export function createLegacyServer (closeRequestStream: (requestId: string | number) => void, changes: EventEmitter<{ change: [ListKind] }>): Server {
  const server = new Server(FIXTURE_INFO, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {}
    }
  })
  const subscriptions = new Set<string>()

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: LEGACY_TOOLS as never }))

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params
    const args = (request.params.arguments ?? {}) as Json
    const fixed = staticToolResult(name, args)
    if (fixed) return fixed as never
    const notify = (method: string, params: Json) => extra.sendNotification({ method, params } as never)
    switch (name) {
      case 'test_tool_with_logging': {
        for (const [i, data] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
          if (i > 0) await sleep(50)
          await notify('notifications/message', { level: 'info', logger: 'conformance-fixture', data })
        }
        return { content: [{ type: 'text', text: 'Tool with logging executed successfully' }] }
      }
      case 'test_tool_with_progress': {
        const progressToken = request.params._meta?.progressToken
        for (const progress of [0, 50, 100]) {
          if (progress > 0) await sleep(50)
          if (progressToken !== undefined) await notify('notifications/progress', { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` })
        }
        return { content: [{ type: 'text', text: String(progressToken ?? 'no progress token') }] }
      }
      case 'test_sampling': {
        const result = await extra.sendRequest({
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: { type: 'text', text: String(args.prompt ?? '') } }], maxTokens: 100 }
        }, CreateMessageResultSchema)
        const content = result.content as { type: string, text?: string }
        return { content: [{ type: 'text', text: `LLM response: ${content.type === 'text' ? content.text : JSON.stringify(content)}` }] }
      }
      case 'test_elicitation': {
        const result = await extra.sendRequest({
          method: 'elicitation/create',
          params: {
            message: String(args.message ?? ''),
            requestedSchema: {
              type: 'object',
              properties: { username: { type: 'string', description: "User's response" }, email: { type: 'string', description: "User's email address" } },
              required: ['username', 'email']
            }
          }
        }, ElicitResultSchema)
        return { content: [{ type: 'text', text: `User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}` }] }
      }
      case 'test_elicitation_sep1034_defaults':
      case 'test_elicitation_sep1330_enums': {
        const sep1034 = name === 'test_elicitation_sep1034_defaults'
        const result = await extra.sendRequest({
          method: 'elicitation/create',
          params: {
            message: sep1034 ? 'Please review and update the form fields with defaults' : 'Please select options from the enum fields',
            requestedSchema: (sep1034 ? SEP1034_SCHEMA : SEP1330_SCHEMA) as never
          }
        }, ElicitResultSchema)
        return { content: [{ type: 'text', text: `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}` }] }
      }
      case 'test_logging_tool':
        await notify('notifications/message', { level: 'info', logger: 'conformance-fixture', data: 'test_logging_tool ran' })
        return { content: [{ type: 'text', text: 'logged' }] }
      case 'test_streaming_elicitation': {
        const result = await extra.sendRequest({
          method: 'elicitation/create',
          params: { message: 'Anything to add?', requestedSchema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] } }
        }, ElicitResultSchema)
        return { content: [{ type: 'text', text: `elicitation answered: action=${result.action}` }] }
      }
      case 'test_missing_capability': {
        if (!server.getClientCapabilities()?.sampling) {
          throw new McpError(-32021, 'Missing required client capability: sampling', { requiredCapabilities: { sampling: {} } })
        }
        const result = await extra.sendRequest({ method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: 'Say hello' } }], maxTokens: 10 } }, CreateMessageResultSchema)
        return { content: [{ type: 'text', text: `sampling answered: ${JSON.stringify(result.content)}` }] }
      }
      case 'test_trigger_tool_change':
      case 'test_trigger_prompt_change': {
        const kind: ListKind = name === 'test_trigger_tool_change' ? 'tools' : 'prompts'
        changes.emit('change', kind)
        return { content: [{ type: 'text', text: `${kind}/list_changed announced` }] }
      }
      case 'test_reconnection': {
        // Close this request's SSE stream; the client must reconnect (GET with Last-Event-ID)
        // and the result is replayed from the event store.
        closeRequestStream(extra.requestId)
        await sleep(100)
        return { content: [{ type: 'text', text: 'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.' }] }
      }
      default:
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`)
    }
  })

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: RESOURCES as never }))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: RESOURCE_TEMPLATES as never }))
  server.setRequestHandler(ReadResourceRequestSchema, async request => {
    const contents = readResource(request.params.uri)
    // SEP-2164: an unknown URI is -32602 with the URI in data, never empty contents.
    if (!contents) throw new McpError(ErrorCode.InvalidParams, 'Resource not found', { uri: request.params.uri })
    return { contents: contents as never }
  })
  server.setRequestHandler(SubscribeRequestSchema, async request => {
    subscriptions.add(request.params.uri)
    return {}
  })
  server.setRequestHandler(UnsubscribeRequestSchema, async request => {
    subscriptions.delete(request.params.uri)
    return {}
  })

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: PROMPTS as never }))
  server.setRequestHandler(GetPromptRequestSchema, async request => {
    const prompt = getPrompt(request.params.name, request.params.arguments ?? {})
    if (!prompt) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`)
    return prompt as never
  })

  server.setRequestHandler(SetLevelRequestSchema, async () => ({}))
  server.setRequestHandler(CompleteRequestSchema, async request => complete(request.params.argument.value) as never)

  // Every session hears every list change (on its GET stream, or its SSE stream, if it holds one).
  const onChange = (kind: ListKind) => {
    const sent = kind === 'tools' ? server.sendToolListChanged() : kind === 'prompts' ? server.sendPromptListChanged() : server.sendResourceListChanged()
    sent.catch(() => {})
  }
  changes.on('change', onChange)
  server.onclose = () => { changes.off('change', onChange) }
  return server
}

export interface LegacyFixture {
  handle (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>
  close (): Promise<void>
}

/** Session-keyed transports; a request without a session must be an initialize. */
export function legacyFixture (changes: EventEmitter<{ change: [ListKind] }>): LegacyFixture {
  const transports = new Map<string, StreamableHTTPServerTransport>()
  const eventStore = memoryEventStore()

  const isInitialize = (body: unknown) => {
    const messages = Array.isArray(body) ? body : [body]
    return messages.some(m => typeof m === 'object' && m !== null && (m as Json).method === 'initialize')
  }

  return {
    async handle (req, res, body) {
      const sessionId = req.headers['mcp-session-id']
      const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined
      if (existing) return existing.handleRequest(req, res, body)
      if (typeof sessionId === 'string') {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }))
        return
      }
      if (req.method !== 'POST' || !isInitialize(body)) {
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: no valid session ID provided' } }))
        return
      }
      let transport: StreamableHTTPServerTransport | undefined
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore,
        retryInterval: 200,
        onsessioninitialized: id => { transports.set(id, transport!) },
        onsessionclosed: id => { transports.delete(id) }
      })
      const server = createLegacyServer(requestId => transport?.closeSSEStream(requestId), changes)
      transport.onclose = () => { if (transport?.sessionId) transports.delete(transport.sessionId) }
      await server.connect(transport)
      await transport.handleRequest(req, res, body)
    },
    async close () {
      for (const transport of transports.values()) await transport.close().catch(() => {})
      transports.clear()
    }
  }
}
