// Config document (+ variable values) → CompiledConfig. Runs when a config version is applied (as
// the last validation step) and when a process loads a new version; never per call.
import type { ConfigDocument, ToolDoc, ProviderDoc, ParameterLocation, ServerDoc, InterceptorDoc } from '../config/document.ts'
import { createAjv, describeAjvErrors } from '../config/ajv.ts'
import { interceptorSources } from '../config/interceptors.ts'
import { InterceptorFailure, type CompiledChain, type InterceptorPhase, type InterceptorRuntime } from '../interceptors/index.ts'
import { referencedVariables, resolveTemplate } from '../config/templates.ts'
import { baseUrlProblem, mcpUrlProblem, pathParameters } from '../config/validate.ts'
import { ConfigInvalidError, type ConfigProblem } from '../errors.ts'
import { buildDiscoveryIndex } from '../discovery/index.ts'
import { compileOAuthProvider } from '../oauth/compile.ts'
import type { ArgumentBinding, CompiledConfig, CompiledOAuthProvider, CompiledServer, CompiledTool, CompiledUpstream, DebugRedaction, ToolDescriptor } from './compiled.ts'

export interface CompileDefaults {
  timeoutMs: number
  maxResponseBytes: number
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function defaultLocation (method: string): ParameterLocation {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' ? 'body' : 'query'
}

function lowerCaseHeaders (headers: Record<string, string> | undefined, values: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = resolveTemplate(value, values)
  return out
}

function splitPath (path: string, values: ReadonlyMap<string, string>): { literals: string[], params: string[] } {
  const params = pathParameters(path)
  const literals: string[] = []
  let rest = path
  for (const name of params) {
    const marker = `{${name}}`
    let at = rest.indexOf(marker)
    while (at > 0 && rest[at - 1] === '$') at = rest.indexOf(marker, at + 1)
    literals.push(rest.slice(0, at))
    rest = rest.slice(at + marker.length)
  }
  literals.push(rest)
  return { literals: literals.map(l => resolveTemplate(l, values)), params }
}

function descriptorOf (tool: ToolDoc, inputSchema: Record<string, unknown>): { descriptor: ToolDescriptor, legacy: ToolDescriptor } {
  const legacy: ToolDescriptor = { name: tool.name, inputSchema }
  if (tool.description !== undefined) legacy.description = tool.description
  if (tool.annotations !== undefined) legacy.annotations = tool.annotations
  const descriptor: ToolDescriptor = { ...legacy }
  if (tool.title !== undefined) descriptor.title = tool.title
  if (tool.output !== undefined) descriptor.outputSchema = tool.output
  return { descriptor, legacy }
}

function compileTool (
  tool: ToolDoc, at: string, serverName: string, provider: ProviderDoc, providerAt: string, oauth: CompiledOAuthProvider | undefined,
  values: ReadonlyMap<string, string>, ajv: ReturnType<typeof createAjv>, defaults: CompileDefaults, problems: ConfigProblem[]
): CompiledTool | undefined {
  const baseUrl = resolveTemplate(provider.baseUrl, values)
  const urlProblem = baseUrlProblem(baseUrl)
  if (urlProblem) {
    problems.push({ path: `${providerAt}.baseUrl`, message: `resolves to an unusable URL: ${urlProblem}` })
    return undefined
  }
  const base = new URL(baseUrl)
  const basePath = base.pathname.replace(/\/+$/, '')

  const inputSchema = tool.input ?? { type: 'object', properties: {} }
  let validateArguments
  try {
    validateArguments = ajv.compile(inputSchema)
  } catch (err) {
    problems.push({ path: `${at}.input`, message: `not a valid JSON Schema: ${(err as Error).message}` })
    return undefined
  }
  let validateOutput
  if (tool.output) {
    try {
      validateOutput = ajv.compile(tool.output)
    } catch (err) {
      problems.push({ path: `${at}.output`, message: `not a valid JSON Schema: ${(err as Error).message}` })
    }
  }

  const { literals, params } = splitPath(tool.path, values)
  literals[0] = basePath + literals[0]
  const query: ArgumentBinding[] = []
  const headers: ArgumentBinding[] = []
  const body: ArgumentBinding[] = []
  const properties = Object.keys((inputSchema.properties ?? {}) as Record<string, unknown>)
  for (const argument of properties) {
    if (params.includes(argument)) continue
    const override = tool.parameters?.[argument]
    const location = override?.in ?? defaultLocation(tool.method)
    const binding = { argument, name: override?.name ?? argument }
    if (location === 'header') headers.push({ argument, name: binding.name.toLowerCase() })
    else if (location === 'body') {
      if (!BODY_METHODS.has(tool.method)) problems.push({ path: `${at}.parameters.${argument}.in`, message: `${tool.method} requests carry no body` })
      body.push(binding)
    } else query.push(binding)
  }

  const { descriptor, legacy } = descriptorOf(tool, inputSchema)
  return {
    name: tool.name,
    serverName,
    descriptor,
    legacyDescriptor: legacy,
    validateArguments,
    method: tool.method,
    origin: base.origin,
    pathLiterals: literals,
    pathArguments: params,
    query,
    headers,
    body,
    staticHeaders: { ...lowerCaseHeaders(provider.headers, values), ...lowerCaseHeaders(tool.headers, values) },
    timeoutMs: tool.timeoutMs ?? provider.timeoutMs ?? defaults.timeoutMs,
    maxResponseBytes: tool.maxResponseBytes ?? provider.maxResponseBytes ?? defaults.maxResponseBytes,
    hasOutputSchema: tool.output !== undefined,
    ...(validateOutput ? { validateOutput } : {}),
    ...(oauth ? { oauth } : {}),
    scopes: tool.scopes ?? []
  }
}

/** remote-mcp / stdio: the connection spec with variables resolved, and the name rules. */
function compileUpstream (
  server: ServerDoc, at: string, values: ReadonlyMap<string, string>, secretNames: ReadonlySet<string>,
  defaults: CompileDefaults, problems: ConfigProblem[]
): CompiledUpstream | undefined {
  const names = { include: server.include ?? [], exclude: server.exclude ?? [], rename: server.rename ?? {} }
  const timeoutMs = server.timeoutMs ?? defaults.timeoutMs
  const maxResponseBytes = server.maxResponseBytes ?? defaults.maxResponseBytes
  if (server.kind === 'remote-mcp') {
    const url = resolveTemplate(server.url!, values)
    const problem = mcpUrlProblem(url)
    if (problem) {
      problems.push({ path: `${at}.url`, message: `resolves to an unusable URL: ${problem}` })
      return undefined
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(server.headers ?? {})) headers[name.toLowerCase()] = resolveTemplate(value, values)
    return { connection: { kind: 'remote-mcp', url, transport: server.transport ?? 'auto', headers, timeoutMs, maxResponseBytes }, names }
  }
  const env: Record<string, string> = {}
  const redact = new Set<string>()
  for (const [name, template] of Object.entries(server.env ?? {})) {
    env[name] = resolveTemplate(template, values)
    for (const variable of referencedVariables(template)) if (secretNames.has(variable)) redact.add(values.get(variable)!)
  }
  return {
    connection: {
      kind: 'stdio', command: server.command!, args: server.args ?? [], env, redact: [...redact], timeoutMs, maxResponseBytes,
      ...(server.cwd !== undefined ? { cwd: server.cwd } : {})
    },
    names
  }
}

/**
 * Builds one phase's chain, or undefined when there is nothing to run. A syntax failure (already
 * refused by validation, so only a document stored before a stricter check) becomes a problem.
 */
function chainOf (
  runtime: InterceptorRuntime | undefined, docs: InterceptorDoc[] | undefined, at: string, phase: InterceptorPhase,
  chains: CompiledChain[], problems: ConfigProblem[]
): CompiledChain | undefined {
  if (!runtime || !docs || docs.length === 0) return undefined
  try {
    const chain = runtime.chain(interceptorSources(docs, at, phase))
    chains.push(chain)
    return chain
  } catch (err) {
    if (!(err instanceof InterceptorFailure)) throw err
    problems.push({ path: err.label, message: err.message })
    return undefined
  }
}

/**
 * Compiles a validated document. Throws ConfigInvalidError (with paths) for what only compiling
 * finds. Without `interceptors` (a check at apply time) no interceptor chain is built.
 */
export function compileConfig (
  doc: ConfigDocument, version: number, values: ReadonlyMap<string, string>, defaults: CompileDefaults, interceptors?: InterceptorRuntime,
  /** Literal OAuth client secrets, opened from the vault, by provider name. */
  providerSecrets: ReadonlyMap<string, string> = new Map()
): CompiledConfig {
  const problems: ConfigProblem[] = []
  const chains: CompiledChain[] = []
  const ajv = createAjv()
  const providers = new Map((doc.providers ?? []).map((p, i) => [p.name, { provider: p, at: `providers[${i}]` }]))
  const servers = new Map<string, CompiledServer>()
  const origins = new Set<string>()
  const secretNames = new Set((doc.variables ?? []).filter(v => v.kind === 'SECRET').map(v => v.name))
  const oauthProviders = new Map<string, CompiledOAuthProvider>()
  ;(doc.providers ?? []).forEach((provider, i) => {
    const oauth = compileOAuthProvider(provider, `providers[${i}]`, values, providerSecrets.get(provider.name), problems)
    if (oauth) oauthProviders.set(provider.name, oauth)
  })

  ;(doc.servers ?? []).forEach((server, s) => {
    const compiled: CompiledServer = { name: server.name, tools: new Map(), toolList: [] }
    if (server.title !== undefined) compiled.title = server.title
    if (server.description !== undefined) compiled.description = server.description
    if (server.instructions !== undefined) compiled.instructions = server.instructions
    const serverRequest = chainOf(interceptors, server.request, `servers[${s}]`, 'request', chains, problems)
    const serverResponse = chainOf(interceptors, server.response, `servers[${s}]`, 'response', chains, problems)
    if (serverRequest) compiled.requestChain = serverRequest
    if (serverResponse) compiled.responseChain = serverResponse
    if (server.kind !== undefined && server.kind !== 'api') {
      compiled.kind = server.kind
      const upstream = compileUpstream(server, `servers[${s}]`, values, secretNames, defaults, problems)
      if (upstream) compiled.upstream = upstream
    }
    ;(server.tools ?? []).forEach((tool, t) => {
      const entry = providers.get(tool.provider)
      if (!entry) return // reported by validateDocument
      const at = `servers[${s}].tools[${t}]`
      const one = compileTool(tool, at, server.name, entry.provider, entry.at, oauthProviders.get(tool.provider), values, ajv, defaults, problems)
      if (!one) return
      // A tool's own chain replaces the server's default for that phase (`[]` opts out).
      const request = tool.request ? chainOf(interceptors, tool.request, at, 'request', chains, problems) : serverRequest
      const response = tool.response ? chainOf(interceptors, tool.response, at, 'response', chains, problems) : serverResponse
      if (request) one.requestChain = request
      if (response) one.responseChain = response
      const redaction = toolRedaction(entry.provider, tool, values, secretNames)
      if (redaction) one.debugRedaction = redaction
      compiled.tools.set(one.name, one)
      compiled.toolList.push(one)
      origins.add(one.origin)
    })
    if (server.discovery === true) compiled.discovery = buildDiscoveryIndex(compiled.toolList)
    const redaction = serverRedaction(server, compiled, values, secretNames)
    if (redaction) compiled.debugRedaction = redaction
    servers.set(server.name, compiled)
  })

  if (problems.length > 0) throw new ConfigInvalidError(problems)
  return { version, servers, origins, chains, oauthProviders }
}

/**
 * What the live debug console hides: headers whose template references a SECRET variable (by
 * name), and the SECRET values referenced anywhere in the templates (masked in every event).
 */
function redactionOf (
  headers: Array<Record<string, string> | undefined>, others: Array<string | undefined>,
  values: ReadonlyMap<string, string>, secretNames: ReadonlySet<string>
): DebugRedaction | undefined {
  const names = new Set<string>()
  const secrets = new Set<string>()
  const scan = (template: string): boolean => {
    let found = false
    for (const variable of referencedVariables(template)) {
      if (!secretNames.has(variable)) continue
      found = true
      const value = values.get(variable)
      if (value) secrets.add(value)
    }
    return found
  }
  for (const group of headers) for (const [name, template] of Object.entries(group ?? {})) if (scan(template)) names.add(name.toLowerCase())
  for (const template of others) if (template !== undefined) scan(template)
  return names.size === 0 && secrets.size === 0 ? undefined : { headers: [...names], secrets: [...secrets] }
}

function toolRedaction (provider: ProviderDoc, tool: ToolDoc, values: ReadonlyMap<string, string>, secretNames: ReadonlySet<string>): DebugRedaction | undefined {
  if (secretNames.size === 0) return undefined
  return redactionOf([provider.headers, tool.headers], [provider.baseUrl, tool.path], values, secretNames)
}

/** A server's upstream headers and URL/env, plus the secrets of all its tools. */
function serverRedaction (server: ServerDoc, compiled: CompiledServer, values: ReadonlyMap<string, string>, secretNames: ReadonlySet<string>): DebugRedaction | undefined {
  if (secretNames.size === 0) return undefined
  const own = redactionOf([server.headers], [server.url, ...Object.values(server.env ?? {})], values, secretNames)
  const secrets = new Set(own?.secrets)
  for (const tool of compiled.toolList) for (const secret of tool.debugRedaction?.secrets ?? []) secrets.add(secret)
  if (!own && secrets.size === 0) return undefined
  return { headers: own?.headers ?? [], secrets: [...secrets] }
}

export { describeAjvErrors }
