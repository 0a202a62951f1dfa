// Checks a config document: its shape (JSON Schema) and its references (names unique, providers
// and variables that exist, path parameters that are declared). Every problem names its path.
import { ConfigInvalidError, type ConfigProblem } from '../errors.ts'
import { createAjv, describeAjvErrors } from './ajv.ts'
import { checkInterceptors } from './interceptors.ts'
import { checkProviderOAuth } from './oauth.ts'
import { joinKey } from './paths.ts'
import { documentSchema, REMOTE_MCP_FIELDS, STDIO_FIELDS, UPSTREAM_COMMON_FIELDS, type ConfigDocument, type ParameterLocation, type ServerDoc, type ToolDoc } from './document.ts'
import { referencedVariables, resolveTemplate } from './templates.ts'

const validateShape = createAjv().compile(documentSchema)

const PATH_PARAM = /\{([^}]*)\}/g

/** `{name}` placeholders of a tool path, skipping `${VARIABLE}` references. */
export function pathParameters (path: string): string[] {
  const names: string[] = []
  for (const match of path.matchAll(PATH_PARAM)) {
    if (match.index! > 0 && path[match.index! - 1] === '$') continue
    names.push(match[1]!)
  }
  return names
}

function duplicates (names: string[], at: (i: number) => string, what: string, problems: ConfigProblem[]): void {
  const seen = new Map<string, number>()
  names.forEach((name, i) => {
    if (seen.has(name)) problems.push({ path: at(i), message: `duplicate ${what} "${name}" (first at index ${seen.get(name)})` })
    else seen.set(name, i)
  })
}

function checkVariables (template: string, path: string, known: Set<string>, problems: ConfigProblem[]): void {
  for (const name of referencedVariables(template)) {
    if (!known.has(name)) problems.push({ path, message: `unknown variable \${${name}}` })
  }
}

function checkTool (tool: ToolDoc, at: string, providers: Set<string>, variables: Set<string>, problems: ConfigProblem[]): void {
  if (!providers.has(tool.provider)) problems.push({ path: `${at}.provider`, message: `unknown provider "${tool.provider}"` })
  checkVariables(tool.path, `${at}.path`, variables, problems)
  for (const [name, value] of Object.entries(tool.headers ?? {})) checkVariables(value, `${at}.headers.${name}`, variables, problems)

  const input = tool.input ?? { type: 'object' }
  if (input.type !== 'object') problems.push({ path: `${at}.input.type`, message: 'a tool input schema must have type "object"' })
  if (tool.output && tool.output.type !== 'object') problems.push({ path: `${at}.output.type`, message: 'a tool output schema must have type "object"' })
  const properties = (input.properties ?? {}) as Record<string, unknown>
  const required = new Set(Array.isArray(input.required) ? input.required as string[] : [])

  const inPath = pathParameters(tool.path)
  for (const name of inPath) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      problems.push({ path: `${at}.path`, message: `path parameter "{${name}}" must be made of letters, digits, "_", "-" or "."` })
    } else if (!(name in properties)) {
      problems.push({ path: `${at}.path`, message: `path parameter "{${name}}" is not a property of input` })
    } else if (!required.has(name)) {
      problems.push({ path: `${at}.input.required`, message: `path parameter "${name}" must be required` })
    }
  }
  for (const [name, parameter] of Object.entries(tool.parameters ?? {})) {
    const where = `${at}.parameters.${name}`
    if (!(name in properties)) problems.push({ path: where, message: `"${name}" is not a property of input` })
    const location: ParameterLocation | undefined = parameter.in
    if (location === 'path' && !inPath.includes(name)) problems.push({ path: `${where}.in`, message: `"${name}" is not a placeholder in path` })
    if (location && location !== 'path' && inPath.includes(name)) problems.push({ path: `${where}.in`, message: `"${name}" is a path placeholder; it cannot go in ${location}` })
    if (location === 'header' && parameter.name && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(parameter.name)) problems.push({ path: `${where}.name`, message: 'not a valid header name' })
  }
}

/** Returns the document typed, or throws ConfigInvalidError listing every problem. */
export function validateDocument (input: unknown): ConfigDocument {
  if (!validateShape(input)) throw new ConfigInvalidError(describeAjvErrors(validateShape.errors))
  const doc = input as ConfigDocument
  const problems: ConfigProblem[] = []
  const variables = doc.variables ?? []
  const providers = doc.providers ?? []
  const servers = doc.servers ?? []

  duplicates(variables.map(v => v.name), i => `variables[${i}].name`, 'variable', problems)
  duplicates(providers.map(p => p.name), i => `providers[${i}].name`, 'provider', problems)
  duplicates(servers.map(s => s.name), i => `servers[${i}].name`, 'server', problems)

  const variableNames = new Set(variables.map(v => v.name))
  variables.forEach((variable, i) => {
    if (variable.kind === 'ENV' && variable.value === undefined) problems.push({ path: `variables[${i}].value`, message: 'is required for an ENV variable' })
  })

  const providerNames = new Set(providers.map(p => p.name))
  providers.forEach((provider, i) => {
    const at = `providers[${i}]`
    checkVariables(provider.baseUrl, `${at}.baseUrl`, variableNames, problems)
    for (const [name, value] of Object.entries(provider.headers ?? {})) checkVariables(value, `${at}.headers.${name}`, variableNames, problems)
    if (referencedVariables(provider.baseUrl).length === 0) {
      const problem = baseUrlProblem(provider.baseUrl)
      if (problem) problems.push({ path: `${at}.baseUrl`, message: problem })
    }
    checkProviderOAuth(provider, at, variables, problems)
  })

  servers.forEach((server, s) => {
    checkServerKind(server, `servers[${s}]`, variableNames, problems)
    checkInterceptors(server, `servers[${s}]`, problems)
    const tools = server.tools ?? []
    duplicates(tools.map(t => t.name), i => `servers[${s}].tools[${i}].name`, 'tool', problems)
    tools.forEach((tool, t) => {
      checkTool(tool, `servers[${s}].tools[${t}]`, providerNames, variableNames, problems)
      checkInterceptors(tool, `servers[${s}].tools[${t}]`, problems)
    })
  })

  if (problems.length > 0) throw new ConfigInvalidError(problems)
  return doc
}

/** Headers the MCP transport sets itself; a config value would break the protocol (or smuggle a body). */
const TRANSPORT_HEADERS = new Set(['accept', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'host', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'])

/** Which fields a server's kind takes, and what those fields must hold. */
function checkServerKind (server: ServerDoc, at: string, variables: Set<string>, problems: ConfigProblem[]): void {
  const kind = server.kind ?? 'api'
  const present = (field: keyof ServerDoc) => server[field] !== undefined
  const refuse = (fields: readonly (keyof ServerDoc)[], why: string) => {
    for (const field of fields) if (present(field)) problems.push({ path: `${at}.${field}`, message: why })
  }
  if (kind === 'api') {
    refuse([...REMOTE_MCP_FIELDS, ...STDIO_FIELDS, ...UPSTREAM_COMMON_FIELDS], 'only for remote-mcp and stdio servers (this server has kind "api")')
    return
  }
  refuse(['tools'], `only api servers declare tools; a ${kind} server's tools come from its MCP server (filter them with include, exclude and rename)`)
  refuse(['discovery'], `only for api servers (a ${kind} server lists its upstream's tools)`)
  if (kind === 'remote-mcp') {
    refuse(STDIO_FIELDS, 'only for stdio servers (this server has kind "remote-mcp")')
    if (server.url === undefined) {
      problems.push({ path: `${at}.url`, message: 'is required for a remote-mcp server' })
    } else {
      checkVariables(server.url, `${at}.url`, variables, problems)
      if (referencedVariables(server.url).length === 0) {
        const problem = mcpUrlProblem(server.url)
        if (problem) problems.push({ path: `${at}.url`, message: problem })
      }
    }
    for (const [name, value] of Object.entries(server.headers ?? {})) {
      if (TRANSPORT_HEADERS.has(name.toLowerCase())) problems.push({ path: `${at}.headers.${name}`, message: 'is set by the MCP transport itself and cannot be configured' })
      checkVariables(value, `${at}.headers.${name}`, variables, problems)
    }
  } else {
    refuse(REMOTE_MCP_FIELDS, 'only for remote-mcp servers (this server has kind "stdio")')
    if (server.command === undefined) problems.push({ path: `${at}.command`, message: 'is required for a stdio server' })
    // Arguments are passed literally: anyone on the host can read a process's argv, so secrets go in env.
    for (const [name, value] of Object.entries(server.env ?? {})) checkVariables(value, `${at}.env.${name}`, variables, problems)
  }
  checkRename(server.rename ?? {}, `${at}.rename`, problems)
}

/** Two renamed tools must not end up sharing a name. */
function checkRename (rename: Record<string, string>, at: string, problems: ConfigProblem[]): void {
  const claimedBy = new Map<string, string>()
  for (const [upstream, exposed] of Object.entries(rename)) {
    const other = claimedBy.get(exposed)
    if (other !== undefined) problems.push({ path: joinKey(at, upstream), message: `"${exposed}" is already the new name of "${other}"` })
    else claimedBy.set(exposed, upstream)
  }
  // A rename onto the name of an upstream tool that keeps its name can only be seen when the
  // upstream lists its tools: the renamed tool wins there (src/upstreams/name-rules.ts).
}

/** Why a (resolved) MCP endpoint URL is unusable, or undefined when it is fine. A query is allowed (some servers take one). */
export function mcpUrlProblem (endpoint: string): string | undefined {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return `"${endpoint}" is not an absolute URL`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL'
  if (url.hash) return 'must not have a fragment'
  if (url.username || url.password) return 'must not carry credentials; use a header with a SECRET variable'
  return undefined
}

/** Why a (resolved) base URL is unusable, or undefined when it is fine. */
export function baseUrlProblem (baseUrl: string): string | undefined {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return `"${baseUrl}" is not an absolute URL`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL'
  if (url.search || url.hash) return 'must not have a query or fragment'
  if (url.username || url.password) return 'must not carry credentials; use a header with a SECRET variable'
  return undefined
}

/**
 * Base URLs built from variables can only be checked once the values are known (at apply). Checked
 * per provider, so an unusable one is refused even when no tool uses it yet, and reported once.
 */
export function resolvedBaseUrlProblems (doc: ConfigDocument, values: ReadonlyMap<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  ;(doc.providers ?? []).forEach((provider, i) => {
    const names = referencedVariables(provider.baseUrl)
    if (names.length === 0) return // checked by validateDocument
    if (names.some(name => !values.has(name))) return // a missing value is reported on its variable
    const problem = baseUrlProblem(resolveTemplate(provider.baseUrl, values))
    if (problem) problems.push({ path: `providers[${i}].baseUrl`, message: `resolves to an unusable URL: ${problem}` })
  })
  ;(doc.servers ?? []).forEach((server, i) => {
    if (server.kind !== 'remote-mcp' || server.url === undefined) return
    const names = referencedVariables(server.url)
    if (names.length === 0 || names.some(name => !values.has(name))) return
    const problem = mcpUrlProblem(resolveTemplate(server.url, values))
    if (problem) problems.push({ path: `servers[${i}].url`, message: `resolves to an unusable URL: ${problem}` })
  })
  return problems
}
