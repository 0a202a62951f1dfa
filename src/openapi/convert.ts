// A validated OpenAPI 3.1 document → the tools, provider settings and variables of one server.
// Pure: no config is read or written here (merge.ts upserts the result into a document).
import type { HttpMethod, ParameterDoc, ToolDoc } from '../config/document.ts'
import type { OpenApiObject } from './load.ts'
import { SchemaConverter, shorten, type SchemaOptions } from './schema.ts'

type Json = Record<string, unknown>

export interface ImportFilters {
  includeTags?: string[]
  excludeTags?: string[]
  /** Path globs: `*` within a segment, `**` across segments. */
  includePaths?: string[]
  excludePaths?: string[]
  methods?: string[]
  /** operationId globs (`*` any run of characters). */
  includeOperations?: string[]
  excludeOperations?: string[]
}

export interface ConvertOptions extends ImportFilters {
  provider: string
  /** Simplify what models see (default on): inline small $refs, drop examples, cut long descriptions. */
  simplify?: boolean
  /** Output schemas from 2xx responses (default on). */
  outputSchemas?: boolean
}

export interface SkippedOperation {
  method: string
  path: string
  operationId?: string
  reason: string
}

export interface SecurityVariable {
  name: string
  scheme: string
  /** What the value must be (for the report). */
  hint: string
}

export interface OAuthFlowReport {
  scheme: string
  flows: Record<string, { authorizationUrl?: string, tokenUrl?: string, scopes: string[] }>
  /** Operations that ask for this scheme, with the scopes each asks. */
  operations: number
}

export interface ConvertedTool {
  tool: ToolDoc
  /** `METHOD /path` as in the document (the upsert key). */
  key: string
  /** Names the operator may have chosen differently; the importer's suggestion. */
  operationId?: string
}

export interface ConvertResult {
  tools: ConvertedTool[]
  skipped: SkippedOperation[]
  /** Operations left out by the filters. */
  filtered: number
  /** Every `METHOD /path` in the document (filtered or not): removal is judged against these. */
  allKeys: Set<string>
  baseUrl?: string
  /** ENV variables for `servers[0].variables`, with their defaults. */
  serverVariables: Array<{ name: string, value: string, description?: string }>
  /** Provider-wide auth headers (the document's default security). */
  providerHeaders: Record<string, string>
  securityVariables: SecurityVariable[]
  oauth: OAuthFlowReport[]
  notes: string[]
  title?: string
  description?: string
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
/** Headers OpenAPI says are not parameters (RFC: they are controlled by content negotiation and security). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization'])
const ARGUMENT = /^[A-Za-z0-9_.-]{1,64}$/

export function globToRegExp (glob: string, segmentAware: boolean): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*') {
      if (glob[i + 1] === '*') { out += '.*'; i++ } else out += segmentAware ? '[^/]*' : '.*'
    } else out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`)
}

export function sanitizeName (raw: string, max = 128): string {
  const name = raw.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/_+/g, '_').replace(/^[_.-]+|[_.-]+$/g, '')
  return (name || 'operation').slice(0, max)
}

function nameFromPath (method: string, path: string): string {
  const parts = path.split('/').filter(Boolean).map(p => p.replace(/[{}]/g, ''))
  return sanitizeName(`${method.toLowerCase()}_${parts.join('_') || 'root'}`)
}

function envName (...parts: string[]): string {
  const name = parts.join('_').toUpperCase().replace(/[^A-Z0-9_]+/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '')
  return /^[A-Z_]/.test(name) ? name.slice(0, 128) : `V_${name}`.slice(0, 128)
}

function estimateJson (value: unknown): number {
  return JSON.stringify(value).length
}

function isObjectSchema (schema: Json | undefined): boolean {
  if (!schema) return false
  const type = schema.type
  return type === 'object' || (Array.isArray(type) && type.includes('object') && !type.some(t => t !== 'object' && t !== 'null')) ||
    (type === undefined && (schema.properties !== undefined || Array.isArray(schema.allOf)))
}

interface RequirementChoice {
  headers: Record<string, string>
  query: Array<{ name: string, variable: string }>
  unsupported: string[]
  oauth: Array<{ scheme: string, scopes: string[] }>
}

export function convertOpenApi (spec: OpenApiObject, options: ConvertOptions): ConvertResult {
  const simplify = options.simplify !== false
  const schemaOptions: SchemaOptions = simplify
    ? { inlineMaxBytes: 2048, dropNoise: true, maxDescriptionChars: 300 }
    : { inlineMaxBytes: 0, dropNoise: false, maxDescriptionChars: 0 }
  const converter = new SchemaConverter(spec, schemaOptions)
  const maxToolDescription = simplify ? 1000 : 10_000
  const components = (spec.components ?? {}) as Json
  const securitySchemes = (components.securitySchemes ?? {}) as Record<string, Json>
  const result: ConvertResult = {
    tools: [], skipped: [], filtered: 0, allKeys: new Set(), serverVariables: [], providerHeaders: {}, securityVariables: [], oauth: [], notes: []
  }
  const info = (spec.info ?? {}) as Json
  if (typeof info.title === 'string') result.title = shorten(info.title, 200)
  if (typeof info.description === 'string') result.description = shorten(info.description, 2000)

  // servers[0] → base URL; `{var}` → `${PROVIDER_VAR}` ENV variables holding the default.
  const servers = Array.isArray(spec.servers) ? spec.servers as Json[] : []
  const first = servers[0]
  if (first && typeof first.url === 'string') {
    let url = first.url
    for (const [name, variable] of Object.entries((first.variables ?? {}) as Record<string, Json>)) {
      const env = envName(options.provider, name)
      url = url.replaceAll(`{${name}}`, `\${${env}}`)
      result.serverVariables.push({ name: env, value: String(variable.default ?? ''), ...(typeof variable.description === 'string' ? { description: shorten(variable.description, 2000) } : {}) })
    }
    result.baseUrl = url.replace(/\/+$/, '')
    if (servers.length > 1) result.notes.push(`servers: ${servers.length} listed; the first (${first.url}) is the provider's base URL`)
  }

  // Security: schemes become SECRET variables referenced in headers (or in the path's query for apiKey-in-query).
  const variablesByScheme = new Map<string, SecurityVariable>()
  const oauthUse = new Map<string, number>()
  const choose = (requirements: unknown): RequirementChoice | undefined => {
    if (!Array.isArray(requirements)) return undefined
    if (requirements.length === 0) return { headers: {}, query: [], unsupported: [], oauth: [] }
    let fallback: RequirementChoice | undefined
    for (const requirement of requirements as Array<Record<string, string[]>>) {
      const choice: RequirementChoice = { headers: {}, query: [], unsupported: [], oauth: [] }
      const cookies: string[] = []
      for (const [schemeName, scopes] of Object.entries(requirement ?? {})) {
        const scheme = securitySchemes[schemeName]
        if (!scheme) { choice.unsupported.push(`${schemeName} (not in components.securitySchemes)`); continue }
        const variable = (hint: string): string => {
          let known = variablesByScheme.get(schemeName)
          if (!known) {
            known = { name: envName(options.provider, schemeName), scheme: schemeName, hint }
            variablesByScheme.set(schemeName, known)
          }
          return `\${${known.name}}`
        }
        if (scheme.type === 'apiKey' && typeof scheme.name === 'string') {
          if (scheme.in === 'header') choice.headers[scheme.name] = variable(`the API key (sent in header ${scheme.name})`)
          else if (scheme.in === 'query') choice.query.push({ name: scheme.name, variable: variable(`the API key (sent as query parameter ${scheme.name}; URL-safe characters only)`) })
          else if (scheme.in === 'cookie') cookies.push(`${scheme.name}=${variable(`the API key (sent as cookie ${scheme.name})`)}`)
          else choice.unsupported.push(`${schemeName} (apiKey in ${String(scheme.in)})`)
        } else if (scheme.type === 'http' && typeof scheme.scheme === 'string' && scheme.scheme.toLowerCase() === 'bearer') {
          choice.headers.Authorization = `Bearer ${variable('the bearer token')}`
        } else if (scheme.type === 'http' && typeof scheme.scheme === 'string' && scheme.scheme.toLowerCase() === 'basic') {
          choice.headers.Authorization = `Basic ${variable('base64 of "user:password"')}`
        } else if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') {
          choice.oauth.push({ scheme: schemeName, scopes: Array.isArray(scopes) ? scopes : [] })
        } else {
          choice.unsupported.push(`${schemeName} (${String(scheme.type)}${scheme.scheme ? ' ' + String(scheme.scheme) : ''})`)
        }
      }
      if (cookies.length > 0) choice.headers.Cookie = cookies.join('; ')
      if (choice.unsupported.length === 0 && choice.oauth.length === 0) return choice
      fallback ??= choice
    }
    return fallback
  }
  const documentSecurity = choose(spec.security)
  if (documentSecurity) {
    Object.assign(result.providerHeaders, documentSecurity.headers)
    for (const o of documentSecurity.oauth) oauthUse.set(o.scheme, 0)
  }

  const include = {
    tags: options.includeTags?.length ? new Set(options.includeTags) : undefined,
    paths: options.includePaths?.length ? options.includePaths.map(g => globToRegExp(g, true)) : undefined,
    operations: options.includeOperations?.length ? options.includeOperations.map(g => globToRegExp(g, false)) : undefined,
    methods: options.methods?.length ? new Set(options.methods.map(m => m.toUpperCase())) : undefined
  }
  const exclude = {
    tags: new Set(options.excludeTags ?? []),
    paths: (options.excludePaths ?? []).map(g => globToRegExp(g, true)),
    operations: (options.excludeOperations ?? []).map(g => globToRegExp(g, false))
  }

  const usedNames = new Set<string>()
  const paths = (spec.paths ?? {}) as Record<string, Json>
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = converter.deref(rawItem) ?? {}
    const pathParameters = Array.isArray(item.parameters) ? item.parameters : []
    if (Array.isArray(item.servers) && item.servers.length > 0) result.notes.push(`paths["${path}"].servers: path-level servers are not supported; the provider's base URL is used`)
    for (const lower of METHODS) {
      const operation = item[lower] as Json | undefined
      if (!operation || typeof operation !== 'object') continue
      const method = lower.toUpperCase() as HttpMethod
      const key = `${method} ${path}`
      result.allKeys.add(key)
      const operationId = typeof operation.operationId === 'string' ? operation.operationId : undefined
      const tags = Array.isArray(operation.tags) ? operation.tags as string[] : []
      const skip = (reason: string) => result.skipped.push({ method, path, ...(operationId ? { operationId } : {}), reason })

      const wanted = (!include.tags || tags.some(t => include.tags!.has(t))) &&
        !tags.some(t => exclude.tags.has(t)) &&
        (!include.paths || include.paths.some(r => r.test(path))) &&
        !exclude.paths.some(r => r.test(path)) &&
        (!include.methods || include.methods.has(method)) &&
        (!include.operations || (operationId !== undefined && include.operations.some(r => r.test(operationId)))) &&
        !(operationId !== undefined && exclude.operations.some(r => r.test(operationId)))
      if (!wanted) { result.filtered++; continue }

      const converted = convertOperation(path, method, operation, pathParameters, converter, choose, options, maxToolDescription, skip, result.notes)
      if (!converted) continue
      const security = operation.security !== undefined ? choose(operation.security) : documentSecurity
      for (const o of security?.oauth ?? []) oauthUse.set(o.scheme, (oauthUse.get(o.scheme) ?? 0) + 1)
      if (security?.unsupported.length) result.notes.push(`${key}: security ${security.unsupported.join(', ')} not supported; imported without it`)

      let name = sanitizeName(operationId ?? nameFromPath(method, path))
      if (usedNames.has(name)) {
        const base = name.slice(0, 120)
        for (let n = 2; usedNames.has(name); n++) name = `${base}_${n}`
      }
      usedNames.add(name)
      converted.name = name
      const toolKey = `${method} ${converted.path.split('?')[0]}`
      result.allKeys.add(toolKey)
      result.tools.push({ tool: converted, key: toolKey, ...(operationId ? { operationId } : {}) })
    }
  }

  result.securityVariables = [...variablesByScheme.values()]
  for (const [schemeName, operations] of oauthUse) {
    const scheme = securitySchemes[schemeName] ?? {}
    const flows: OAuthFlowReport['flows'] = {}
    for (const [flowName, flow] of Object.entries((scheme.flows ?? {}) as Record<string, Json>)) {
      flows[flowName] = {
        ...(typeof flow.authorizationUrl === 'string' ? { authorizationUrl: flow.authorizationUrl } : {}),
        ...(typeof flow.tokenUrl === 'string' ? { tokenUrl: flow.tokenUrl } : {}),
        scopes: Object.keys((flow.scopes ?? {}) as Json)
      }
    }
    result.oauth.push({ scheme: schemeName, flows, operations })
  }
  return result

  function convertOperation (
    path: string, method: HttpMethod, operation: Json, inherited: unknown[], converter: SchemaConverter,
    choose: (r: unknown) => RequirementChoice | undefined, options: ConvertOptions, maxDescription: number,
    skip: (reason: string) => void, notes: string[]
  ): ToolDoc | undefined {
    const ctx = converter.context()
    const properties: Record<string, unknown> = {}
    const required: string[] = []
    const parameters: Record<string, ParameterDoc> = {}
    const taken = new Set<string>()
    const key = `${method} ${path}`

    // Operation parameters override path-item ones with the same name and location.
    const merged = new Map<string, Json>()
    for (const raw of [...inherited, ...(Array.isArray(operation.parameters) ? operation.parameters : [])]) {
      const parameter = converter.deref(raw)
      if (!parameter || typeof parameter.name !== 'string' || typeof parameter.in !== 'string') continue
      merged.set(`${parameter.in}:${parameter.name}`, parameter)
    }

    const argumentName = (wanted: string, location: string): string => {
      let name = ARGUMENT.test(wanted) ? wanted : sanitizeName(wanted, 64)
      if (taken.has(name)) name = sanitizeName(`${name}_${location}`, 64)
      for (let n = 2; taken.has(name); n++) name = sanitizeName(`${wanted}_${location}_${n}`, 64)
      taken.add(name)
      return name
    }

    // Path parameters first: they keep their own names (the path template is rewritten if needed).
    let toolPath = path
    const ordered = [...merged.values()].sort((a, b) => (a.in === 'path' ? 0 : 1) - (b.in === 'path' ? 0 : 1))
    for (const parameter of ordered) {
      const name = parameter.name as string
      const location = parameter.in as string
      if (location === 'header' && IGNORED_HEADERS.has(name.toLowerCase())) continue
      if (location === 'cookie') {
        if (parameter.required === true) { skip(`required cookie parameter "${name}": cookie parameters are not supported`); return undefined }
        notes.push(`${key}: optional cookie parameter "${name}" left out (cookie parameters are not supported)`)
        continue
      }
      if (location === 'path' && !path.includes(`{${name}}`)) continue
      const arg = argumentName(name, location)
      let schema: unknown = parameter.schema
      if (schema === undefined && parameter.content && typeof parameter.content === 'object') {
        schema = (Object.values(parameter.content as Json)[0] as Json | undefined)?.schema
      }
      const converted = { ...(ctx.convert(schema ?? { type: 'string' }) as Json) }
      if (typeof parameter.description === 'string' && converted.description === undefined) converted.description = shorten(parameter.description, converter.options.maxDescriptionChars)
      properties[arg] = converted
      if (location === 'path') {
        if (arg !== name) toolPath = toolPath.replaceAll(`{${name}}`, `{${arg}}`)
        required.push(arg)
        parameters[arg] = { in: 'path' }
      } else {
        if (parameter.required === true) required.push(arg)
        parameters[arg] = { in: location as 'query' | 'header', ...(arg !== name ? { name } : {}) }
      }
    }
    // A `{placeholder}` with no declared parameter: still an argument (a string), or the tool could not be called.
    for (const match of toolPath.matchAll(/\{([^}]+)\}/g)) {
      const name = match[1]!
      if (properties[name] !== undefined) continue
      if (!ARGUMENT.test(name)) { skip(`path placeholder "{${name}}" is undeclared and not a usable argument name`); return undefined }
      taken.add(name)
      properties[name] = { type: 'string' }
      required.push(name)
      parameters[name] = { in: 'path' }
      notes.push(`${key}: path placeholder {${name}} has no declared parameter; taken as a string`)
    }

    // Request body: JSON object bodies are flattened into the arguments.
    const body = converter.deref(operation.requestBody)
    if (body && body.content && typeof body.content === 'object') {
      const content = body.content as Record<string, Json>
      const types = Object.keys(content)
      const jsonType = types.find(t => /^application\/(.+\+)?json\b/i.test(t) || t === '*/*')
      const bodyRequired = body.required === true
      if (!jsonType) {
        const what = types.join(', ') || 'no media type'
        if (bodyRequired) { skip(`request body ${what}: only JSON request bodies can be sent (form-urlencoded and multipart are not supported yet)`); return undefined }
        notes.push(`${key}: optional request body (${what}) left out: only JSON bodies can be sent`)
      } else if (!BODY_METHODS.has(method)) {
        if (bodyRequired) { skip(`${method} with a request body: the gateway sends bodies only with POST, PUT, PATCH and DELETE`); return undefined }
        notes.push(`${key}: optional request body on ${method} left out`)
      } else {
        const raw = content[jsonType]?.schema
        const shape = objectShape(raw, converter)
        if (!shape) {
          if (raw === undefined) {
            if (bodyRequired) { skip('JSON request body without a schema: its arguments are unknown'); return undefined }
            notes.push(`${key}: optional JSON request body without a schema left out`)
          } else { skip('JSON request body that is not an object (e.g. an array or a string): only object bodies are sent, as flat arguments'); return undefined }
        } else {
          for (const [prop, sub] of Object.entries(shape.properties)) {
            // OpenAPI: a readOnly property is set by the server; `required` holds for responses only.
            if (converter.deref(sub)?.readOnly === true) continue
            const arg = argumentName(prop, 'body')
            properties[arg] = ctx.convert(sub)
            parameters[arg] = { in: 'body', ...(arg !== prop ? { name: prop } : {}) }
            if (bodyRequired && shape.required.has(prop)) required.push(arg)
          }
          if (shape.open) notes.push(`${key}: request body allows additional properties; only the declared ones are arguments`)
        }
      }
    }

    const input: Json = { type: 'object', properties }
    if (required.length > 0) input.required = [...new Set(required)]
    if (Object.keys(ctx.defs).length > 0) input.$defs = ctx.defs

    const tool: ToolDoc = { name: '', provider: options.provider, method, path: toolPath, input, parameters }
    const summary = typeof operation.summary === 'string' ? operation.summary.trim() : ''
    const description = typeof operation.description === 'string' ? operation.description.trim() : ''
    if (summary) tool.title = shorten(summary.replace(/\s+/g, ' '), 200)
    tool.description = shorten(description || summary || `${method} ${path}`, maxDescription)

    if (options.outputSchemas !== false) {
      const output = outputSchema(operation, converter)
      if (output) tool.output = output
    }
    const annotations: Record<string, unknown> = {}
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') annotations.readOnlyHint = true
    if (method === 'DELETE') annotations.destructiveHint = true
    if (method === 'PUT') annotations.idempotentHint = true
    if (method === 'POST' || method === 'PATCH') annotations.readOnlyHint = false
    tool.annotations = annotations

    // Operation-level security different from the document's: on the tool itself.
    if (operation.security !== undefined) {
      const own = choose(operation.security)
      if (own && Object.keys(own.headers).length > 0 && JSON.stringify(own.headers) !== JSON.stringify(result.providerHeaders)) tool.headers = own.headers
      if (own) addQueryKeys(tool, own.query)
    } else if (documentSecurity) {
      addQueryKeys(tool, documentSecurity.query)
    }
    return tool
  }

  /** The properties of an object schema (through $ref, allOf, and oneOf/anyOf of objects), or undefined. */
  function objectShape (raw: unknown, converter: SchemaConverter, depth = 0): { properties: Record<string, unknown>, required: Set<string>, open: boolean } | undefined {
    const schema = converter.deref(raw)
    if (!schema || depth > 16) return undefined
    const out = { properties: {} as Record<string, unknown>, required: new Set<string>(), open: false }
    let any = false
    if (schema.properties && typeof schema.properties === 'object') {
      Object.assign(out.properties, schema.properties)
      for (const r of Array.isArray(schema.required) ? schema.required as string[] : []) out.required.add(r)
      any = true
    }
    if (Array.isArray(schema.allOf)) {
      for (const part of schema.allOf) {
        const shape = objectShape(part, converter, depth + 1)
        if (!shape) return undefined
        Object.assign(out.properties, shape.properties)
        for (const r of shape.required) out.required.add(r)
        out.open ||= shape.open
        any = true
      }
    }
    const union = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined
    if (union) {
      const shapes = union.map(part => objectShape(part, converter, depth + 1))
      if (shapes.some(s => !s)) return undefined
      // Any of the alternatives' properties may be given; required only what all of them require.
      let common: Set<string> | undefined
      for (const shape of shapes as Array<NonNullable<typeof out>>) {
        for (const [name, sub] of Object.entries(shape.properties)) out.properties[name] ??= sub
        common = common ? new Set([...common].filter(r => shape.required.has(r))) : new Set(shape.required)
      }
      for (const r of common ?? []) out.required.add(r)
      any = true
    }
    if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) out.open = true
    if (!any) {
      if (isObjectSchema(schema)) { out.open = schema.additionalProperties !== false; return out }
      // A constraint-only part of a union or allOf (`{required: [a]}`): no properties of its own.
      if (depth > 0 && schema.type === undefined && !schema.items && !schema.enum && !schema.const) {
        for (const r of Array.isArray(schema.required) ? schema.required as string[] : []) out.required.add(r)
        return out
      }
      return undefined
    }
    return out
  }

  function outputSchema (operation: Json, converter: SchemaConverter): Json | undefined {
    const responses = (operation.responses ?? {}) as Record<string, unknown>
    const code = ['200', '201', '202', '203', '206', '2XX', '2xx'].find(c => responses[c] !== undefined)
    if (!code) return undefined
    const response = converter.deref(responses[code])
    const content = (response?.content ?? {}) as Record<string, Json>
    const jsonType = Object.keys(content).find(t => /^application\/(.+\+)?json\b/i.test(t))
    if (!jsonType) return undefined
    const raw = content[jsonType]?.schema
    if (!isObjectSchema(converter.deref(raw))) return undefined
    // Simplified outputs stop two levels down (a result's fields and theirs): what a model needs to
    // read the result, and a validator that deep upstream drift does not break. Inputs stay whole.
    const ctx = converter.context(converter.options.dropNoise ? 2 : Infinity)
    const converted = ctx.convert(raw) as Json
    const schema: Json = '$ref' in converted ? { type: 'object', allOf: [converted] } : { ...converted, type: 'object' }
    if (Object.keys(ctx.defs).length > 0) schema.$defs = { ...(schema.$defs as Json | undefined), ...ctx.defs }
    return schema
  }
}

function addQueryKeys (tool: ToolDoc, query: Array<{ name: string, variable: string }>): void {
  if (query.length === 0) return
  tool.path += (tool.path.includes('?') ? '&' : '?') + query.map(q => `${encodeURIComponent(q.name)}=${q.variable}`).join('&')
}

/** tools/list bytes of these tools (as the gateway would list them) and a token estimate (bytes / 4). */
export function toolListSize (tools: ToolDoc[]): { bytes: number, tokens: number } {
  const list = {
    tools: tools.map(t => ({
      name: t.name,
      ...(t.title !== undefined ? { title: t.title } : {}),
      ...(t.description !== undefined ? { description: t.description } : {}),
      inputSchema: t.input ?? { type: 'object', properties: {} },
      ...(t.output !== undefined ? { outputSchema: t.output } : {}),
      ...(t.annotations !== undefined ? { annotations: t.annotations } : {})
    }))
  }
  const bytes = Buffer.byteLength(JSON.stringify(list))
  return { bytes, tokens: Math.ceil(bytes / 4) }
}

export { estimateJson }
