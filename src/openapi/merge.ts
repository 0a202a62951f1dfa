// Upserts converted tools into a config document, by method + path. The importer owns the shape of
// a call (method, path, input, output, parameter locations); the operator owns names, titles,
// descriptions and everything else on a tool (interceptors, limits, headers they added, fields this
// importer does not know), which is carried over untouched.
import type { ConfigDocument, ProviderDoc, ServerDoc, ToolDoc, VariableDoc } from '../config/document.ts'
import { OpenApiError } from './errors.ts'
import type { ConvertResult, SkippedOperation } from './convert.ts'

export interface MergeOptions {
  server: string
  provider: string
  /** Overrides the document's servers[0] for a new provider, and always when given. */
  baseUrl?: string
  /** Values for SECRET variables the security schemes need (name → value). */
  secrets?: Record<string, string>
  /** Delete tools of this provider whose method + path the document no longer has. */
  prune?: boolean
}

export interface ImportSummary {
  server: string
  provider: string
  created: string[]
  updated: string[]
  unchanged: string[]
  skipped: SkippedOperation[]
  filtered: number
  /** Tools whose operation is gone from the document: deleted only with prune. */
  removed: Array<{ name: string, method: string, path: string, pruned: boolean }>
  /** SECRET variables created with an empty value: set them before calling the tools. */
  variablesNeedingValues: Array<{ name: string, hint: string }>
  variablesCreated: string[]
  oauth: ConvertResult['oauth']
  notes: string[]
}

/** `METHOD /path` of a tool, without a query the importer appended (apiKey in query). */
export function operationKey (tool: Pick<ToolDoc, 'method' | 'path'>): string {
  return `${tool.method} ${tool.path.split('?')[0]}`
}

const OWNED = ['method', 'path', 'input', 'output', 'parameters'] as const

function stable (value: unknown): string {
  return JSON.stringify(value)
}

/** Changes `doc` in place; returns what changed. */
export function mergeImport (doc: ConfigDocument, converted: ConvertResult, options: MergeOptions): ImportSummary {
  const summary: ImportSummary = {
    server: options.server, provider: options.provider, created: [], updated: [], unchanged: [], skipped: converted.skipped,
    filtered: converted.filtered, removed: [], variablesNeedingValues: [], variablesCreated: [], oauth: converted.oauth, notes: [...converted.notes]
  }

  // Variables: server variables as ENV (defaults), security schemes as SECRET.
  const variables = (doc.variables ??= [])
  const byName = new Map(variables.map(v => [v.name, v]))
  for (const v of converted.serverVariables) {
    if (byName.has(v.name)) continue
    const variable: VariableDoc = { name: v.name, kind: 'ENV', value: v.value, ...(v.description ? { description: v.description } : {}) }
    variables.push(variable)
    byName.set(v.name, variable)
    summary.variablesCreated.push(v.name)
  }
  for (const v of converted.securityVariables) {
    const given = options.secrets?.[v.name]
    const existing = byName.get(v.name)
    if (existing) {
      if (given !== undefined) existing.value = given
      continue
    }
    const variable: VariableDoc = { name: v.name, kind: 'SECRET', description: `${v.scheme}: ${v.hint} (OpenAPI import)`, value: given ?? '' }
    variables.push(variable)
    byName.set(v.name, variable)
    summary.variablesCreated.push(v.name)
    if (given === undefined) summary.variablesNeedingValues.push({ name: v.name, hint: v.hint })
  }
  for (const name of Object.keys(options.secrets ?? {})) {
    if (!converted.securityVariables.some(v => v.name === name)) summary.notes.push(`secret ${name}: no security scheme of the document uses it; not stored`)
  }

  // Provider: created from servers[0] (or baseUrl); an existing one keeps its base URL unless one is given.
  const providers = (doc.providers ??= [])
  let provider = providers.find(p => p.name === options.provider)
  const baseUrl = options.baseUrl ?? converted.baseUrl
  if (!provider) {
    if (!baseUrl) throw new OpenApiError([{ path: 'servers', message: 'the document names no server URL; give a base URL (--base-url or baseUrl)' }])
    provider = { name: options.provider, baseUrl }
    if (converted.title) provider.description = converted.title
    providers.push(provider)
  } else if (options.baseUrl !== undefined) {
    provider.baseUrl = options.baseUrl
  }
  if (!/^(https?:\/\/|\$\{)/.test(provider.baseUrl)) {
    throw new OpenApiError([{ path: 'servers[0].url', message: `"${provider.baseUrl}" is relative; give an absolute base URL (--base-url or baseUrl), or import from the document's URL` }])
  }
  if (Object.keys(converted.providerHeaders).length > 0) provider.headers = { ...provider.headers, ...converted.providerHeaders }
  void (provider satisfies ProviderDoc)

  // Server: an api server (created when missing).
  const servers = (doc.servers ??= [])
  let server = servers.find(s => s.name === options.server)
  if (!server) {
    server = { name: options.server, tools: [] } satisfies ServerDoc
    if (converted.title) server.title = converted.title
    if (converted.description) server.description = converted.description
    servers.push(server)
  } else if ((server.kind ?? 'api') !== 'api') {
    throw new OpenApiError([{ path: 'server', message: `server "${options.server}" has kind "${server.kind}"; OpenAPI tools go on an api server` }], 409)
  }
  const tools = (server.tools ??= [])

  const existing = new Map<string, number>()
  tools.forEach((tool, i) => { if (tool.provider === options.provider) existing.set(operationKey(tool), i) })
  const names = new Set(tools.map(t => t.name))
  const seen = new Set<number>()

  for (const { tool, key } of converted.tools) {
    const at = existing.get(key)
    if (at !== undefined && !seen.has(at)) {
      seen.add(at)
      const before = tools[at]!
      const next: ToolDoc = { ...before }
      for (const field of OWNED) {
        if (tool[field] === undefined) delete next[field]
        else (next as unknown as Record<string, unknown>)[field] = tool[field]
      }
      // Operator's annotations win; the importer's fill in what is missing.
      if (tool.annotations) next.annotations = { ...tool.annotations, ...before.annotations }
      if (tool.headers) next.headers = { ...before.headers, ...tool.headers }
      if (stable(next) === stable(before)) summary.unchanged.push(before.name)
      else {
        tools[at] = next
        summary.updated.push(before.name)
      }
      continue
    }
    let name = tool.name
    if (names.has(name)) {
      const base = name.slice(0, 120)
      for (let n = 2; names.has(name); n++) name = `${base}_${n}`
    }
    names.add(name)
    tools.push({ ...tool, name })
    summary.created.push(name)
  }

  // Tools of this provider whose operation is gone from the document (not merely filtered out).
  const drop = new Set<number>()
  for (const [key, i] of existing) {
    if (seen.has(i) || converted.allKeys.has(key)) continue
    const tool = tools[i]!
    summary.removed.push({ name: tool.name, method: tool.method, path: tool.path.split('?')[0]!, pruned: options.prune === true })
    if (options.prune) drop.add(i)
  }
  if (drop.size > 0) server.tools = tools.filter((_, i) => !drop.has(i))
  return summary
}
