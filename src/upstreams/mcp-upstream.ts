// One MCP upstream as dispatch sees it (the McpUpstream contract in types.ts): the shared session,
// seen through the server's include/exclude/rename rules, with list results cached until the
// upstream says a list changed (or a new session replaces a lost one).
import { EventEmitter } from 'node:events'
import { ErrorCode, McpError, ResultSchema } from '@modelcontextprotocol/sdk/types.js'
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js'
import { INVALID_PARAMS, RpcError } from '../mcp/jsonrpc.ts'
import type { ProgressParams } from './connect.ts'
import { toRpcError } from './errors.ts'
import type { NameRules } from './name-rules.ts'
import type { UpstreamSession } from './session.ts'
import type { ListKind, McpUpstream, McpUpstreamEvents, UpstreamCallOptions, UpstreamCapabilities, UpstreamStatus } from './types.ts'

type Item = Record<string, unknown>

/** The list methods and the result property holding their items. */
const LISTS = {
  tools: { method: 'tools/list', key: 'tools' },
  resources: { method: 'resources/list', key: 'resources' },
  resourceTemplates: { method: 'resources/templates/list', key: 'resourceTemplates' },
  prompts: { method: 'prompts/list', key: 'prompts' }
} as const
type CachedList = keyof typeof LISTS

/** The longest delay a Node timer takes. */
const MAX_TIMER_MS = 2_147_483_647

/** Pages followed before a list is cut short (a cursor loop upstream must not hang a call). */
const MAX_PAGES = 100

export class SessionUpstream extends EventEmitter<McpUpstreamEvents> implements McpUpstream {
  readonly #session: UpstreamSession
  #rules: NameRules
  readonly #cache = new Map<CachedList, { generation: number, items: Promise<Item[]> }>()
  /** Exposed names of the last tools list (metrics label calls by them, anything else `_other`). */
  #toolNames = new Set<string>()
  readonly #generation: Record<CachedList, number> = { tools: 0, resources: 0, resourceTemplates: 0, prompts: 0 }
  readonly #inFlight = new Set<Promise<unknown>>()
  /** Progress callbacks of the requests in flight, by the progress token sent upstream. */
  readonly #progress = new Map<string, (params: ProgressParams) => void>()
  #nextProgressToken = 0
  /** Resource URIs subscribed upstream, with how many client subscriptions hold each. */
  readonly #subscriptions = new Map<string, number>()

  constructor (session: UpstreamSession, rules: NameRules) {
    super()
    this.#session = session
    this.#rules = rules
    session.on('listChanged', kind => this.#changed(kind))
    session.on('progress', params => this.#progress.get(String(params.progressToken))?.(params))
    session.on('resourceUpdated', uri => { if (this.#subscriptions.has(uri)) this.emit('resourceUpdated', uri) })
    session.on('connected', replaced => {
      if (!replaced) return
      // A new session may see other lists than the lost one did, and holds no subscription yet.
      for (const kind of ['tools', 'resources', 'prompts'] as const) this.#changed(kind)
      for (const uri of this.#subscriptions.keys()) {
        this.#request('resources/subscribe', { uri }, {}).catch(() => {}) // a failure leaves it unsubscribed until the client asks again
      }
    })
  }

  get serverName (): string {
    return this.#session.serverName
  }

  get status (): UpstreamStatus {
    return this.#session.status
  }

  get session (): UpstreamSession {
    return this.#session
  }

  /** New include/exclude/rename rules (same connection): clients re-list tools and prompts. */
  setRules (rules: NameRules): void {
    this.#rules = rules
    this.emit('listChanged', 'tools')
    this.emit('listChanged', 'prompts')
  }

  async capabilities (): Promise<UpstreamCapabilities> {
    const known = this.#session.capabilities
    if (known) return known
    await this.#session.client().catch(err => { throw toRpcError(err, this.serverName) })
    return this.#session.capabilities ?? { tools: false, resources: false, prompts: false, completions: false, resourceSubscribe: false }
  }

  async listTools (): Promise<Item[]> {
    const tools = this.#rules.exposeTools(await this.#list('tools'))
    this.#toolNames = new Set(tools.map(tool => tool.name as string))
    return tools
  }

  knowsTool (name: string): boolean {
    return this.#toolNames.has(name)
  }

  async callTool (name: string, args: Record<string, unknown>, options: UpstreamCallOptions = {}): Promise<Item> {
    const upstreamName = this.#rules.upstreamToolName(name)
    if (upstreamName === undefined) throw new RpcError(INVALID_PARAMS, `Unknown tool: ${name}`)
    return await this.#request('tools/call', { name: upstreamName, arguments: args }, options)
  }

  async listResources (): Promise<Item[]> {
    return await this.#list('resources')
  }

  async listResourceTemplates (): Promise<Item[]> {
    return await this.#list('resourceTemplates')
  }

  async readResource (uri: string, options: UpstreamCallOptions = {}): Promise<Item> {
    return await this.#request('resources/read', { uri }, options)
  }

  async listPrompts (): Promise<Item[]> {
    return this.#rules.exposePrompts(await this.#list('prompts'))
  }

  async getPrompt (name: string, args: Record<string, string>, options: UpstreamCallOptions = {}): Promise<Item> {
    if (!this.#rules.promptVisible(name)) throw new RpcError(INVALID_PARAMS, `Unknown prompt: ${name}`)
    return await this.#request('prompts/get', { name, arguments: args }, options)
  }

  async complete (params: Record<string, unknown>, options: UpstreamCallOptions = {}): Promise<Item> {
    const ref = params.ref as { type?: unknown, name?: unknown } | undefined
    if (ref?.type === 'ref/prompt' && (typeof ref.name !== 'string' || !this.#rules.promptVisible(ref.name))) {
      throw new RpcError(INVALID_PARAMS, `Unknown prompt: ${String(ref.name)}`)
    }
    return await this.#request('completion/complete', params, options)
  }

  async subscribeResource (uri: string): Promise<() => Promise<void>> {
    const held = this.#subscriptions.get(uri) ?? 0
    this.#subscriptions.set(uri, held + 1)
    if (held === 0) {
      try {
        await this.#request('resources/subscribe', { uri }, {})
      } catch (err) {
        this.#release(uri)
        throw err
      }
    }
    let released = false
    return async () => {
      if (released) return
      released = true
      if (this.#release(uri)) await this.#request('resources/unsubscribe', { uri }, {}).catch(() => {})
    }
  }

  /** Drops one hold on `uri`; true when it was the last. */
  #release (uri: string): boolean {
    const held = (this.#subscriptions.get(uri) ?? 1) - 1
    if (held > 0) {
      this.#subscriptions.set(uri, held)
      return false
    }
    this.#subscriptions.delete(uri)
    return true
  }

  async close (): Promise<void> {
    this.#subscriptions.clear()
    await this.#session.close()
  }

  /** Waits (at most graceMs) for the requests in flight, then closes: a replaced upstream lets its calls finish. */
  async retire (graceMs: number): Promise<void> {
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise(resolve => { timer = setTimeout(resolve, graceMs).unref() })
      ])
      clearTimeout(timer)
    }
    await this.close()
  }

  #changed (kind: ListKind): void {
    const affected: CachedList[] = kind === 'resources' ? ['resources', 'resourceTemplates'] : [kind]
    for (const list of affected) {
      this.#generation[list]++
      this.#cache.delete(list)
    }
    this.emit('listChanged', kind)
  }

  /** The whole upstream list (all pages), from the cache when no change was announced since. */
  #list (list: CachedList): Promise<Item[]> {
    const generation = this.#generation[list]
    const cached = this.#cache.get(list)
    if (cached && cached.generation === generation) return cached.items
    const items = this.#fetchAll(list)
    this.#cache.set(list, { generation, items })
    // A failed fetch is not kept: the next call asks again.
    items.catch(() => { if (this.#cache.get(list)?.items === items) this.#cache.delete(list) })
    return items
  }

  async #fetchAll (list: CachedList): Promise<Item[]> {
    const { method, key } = LISTS[list]
    const items: Item[] = []
    let cursor: string | undefined
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.#request(method, cursor === undefined ? {} : { cursor }, {})
      const pageItems = result[key]
      if (Array.isArray(pageItems)) items.push(...pageItems as Item[])
      cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined
      if (cursor === undefined) break
    }
    return items
  }

  async #request (method: string, params: Record<string, unknown>, options: UpstreamCallOptions): Promise<Item> {
    if (options.onProgress) return await this.#requestWithProgress(method, params, options, options.onProgress)
    const requestOptions: RequestOptions = { timeout: this.#session.spec.timeoutMs }
    if (options.signal) requestOptions.signal = options.signal
    return await this.#track(this.#session.run(client => client.request({ method, params }, ResultSchema, requestOptions)))
  }

  /**
   * A request whose progress the client wants: it carries our own progress token, routed by the
   * session's progress handler to `report` until the request has settled (so a notification
   * that arrives with the response still goes out before it). The timeout restarts with each
   * notification; it aborts the request like a cancellation (the upstream is told).
   */
  async #requestWithProgress (method: string, params: Record<string, unknown>, options: UpstreamCallOptions, report: NonNullable<UpstreamCallOptions['onProgress']>): Promise<Item> {
    const token = `toolgate-${++this.#nextProgressToken}`
    const controller = new AbortController()
    const timeoutMs = this.#session.spec.timeoutMs
    const timer = setTimeout(() => controller.abort(new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: timeoutMs })), timeoutMs)
    const clientSignal = options.signal
    const forwardAbort = () => controller.abort(clientSignal!.reason)
    if (clientSignal?.aborted) forwardAbort()
    else clientSignal?.addEventListener('abort', forwardAbort, { once: true })
    this.#progress.set(token, ({ progress, total, message }) => {
      timer.refresh()
      report({ progress, ...(total !== undefined ? { total } : {}), ...(message !== undefined ? { message } : {}) })
    })
    const withToken = { ...params, _meta: { progressToken: token } }
    try {
      // The SDK's own timeout stays out of the way: ours restarts on progress.
      return await this.#track(this.#session.run(client => client.request({ method, params: withToken }, ResultSchema, { signal: controller.signal, timeout: MAX_TIMER_MS })))
    } finally {
      clearTimeout(timer)
      clientSignal?.removeEventListener('abort', forwardAbort)
      this.#progress.delete(token)
    }
  }

  async #track (pending: Promise<unknown>): Promise<Item> {
    this.#inFlight.add(pending)
    try {
      return await pending as Item
    } catch (err) {
      throw toRpcError(err, this.serverName)
    } finally {
      this.#inFlight.delete(pending)
    }
  }
}
