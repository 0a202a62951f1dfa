// Dynamic tool discovery for api servers with `discovery: true`: tools/list offers three meta-tools
// (search_tools, describe_tool, call_tool) instead of the whole catalogue. The BM25 index
// (MiniSearch, BM25+ ranking) is built once per config version, when the server is compiled.
import MiniSearch from 'minisearch'
import type { CompiledTool, ToolDescriptor } from '../tools/compiled.ts'
import type { ToolResult } from '../tools/result.ts'

export const META_TOOLS = ['search_tools', 'describe_tool', 'call_tool'] as const

interface IndexedTool {
  id: number
  name: string
  title: string
  description: string
  parameters: string
}

/** What a meta-tool call resolves to: a finished result, or the real tool to call (normal path). */
export type MetaOutcome =
  | { result: ToolResult }
  | { call: { name: string, arguments: Record<string, unknown> } }

const STOP_WORDS = new Set(['a', 'an', 'the', 'of', 'for', 'to', 'in', 'on', 'and', 'or', 'by', 'with', 'is', 'be', 'from', 'this', 'that', 'it'])

/** Words of names too: `issues/create-comment`, `listRepos`, `get_user_by_id`. */
function tokenize (text: string): string[] {
  return text.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[^\p{L}\p{N}]+/u).filter(Boolean)
}

/** Lower case, stop words out, a light plural stem (comments → comment, repositories → repository). */
function processTerm (term: string): string | null {
  const lower = term.toLowerCase()
  if (STOP_WORDS.has(lower)) return null
  if (lower.length > 4 && lower.endsWith('ies')) return lower.slice(0, -3) + 'y'
  if (lower.length > 3 && lower.endsWith('s') && !lower.endsWith('ss')) return lower.slice(0, -1)
  return lower
}

function shortText (text: string | undefined, max: number): string | undefined {
  if (text === undefined || text.length <= max) return text
  return text.slice(0, max - 1) + '…'
}

const SEARCH_INPUT = {
  type: 'object',
  properties: {
    query: { type: 'string', minLength: 1, maxLength: 500, description: 'What you want to do, in words (ranked search), or a name fragment / regular expression (see match)' },
    match: { enum: ['ranked', 'exact', 'regex'], default: 'ranked', description: 'ranked: BM25 over names, titles, descriptions and parameter names; exact: case-insensitive substring of the name or title; regex: a regular expression tested on names and titles' },
    limit: { type: 'integer', minimum: 1, maximum: 50, default: 10 }
  },
  required: ['query'],
  additionalProperties: false
}
const DESCRIBE_INPUT = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1, description: 'A tool name from search_tools' } },
  required: ['name'],
  additionalProperties: false
}
const CALL_INPUT = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, description: 'A tool name from search_tools' },
    arguments: { type: 'object', description: 'The arguments, as describe_tool\'s inputSchema says' }
  },
  required: ['name'],
  additionalProperties: false
}

function metaDescriptors (count: number): ToolDescriptor[] {
  return [
    {
      name: 'search_tools',
      title: 'Search tools',
      description: `Find the right tool among the ${count} this server offers. Returns the best matches (name, title, short description); then describe_tool for the arguments and call_tool to run it.`,
      inputSchema: SEARCH_INPUT,
      annotations: { readOnlyHint: true, openWorldHint: false }
    },
    {
      name: 'describe_tool',
      title: 'Describe a tool',
      description: 'The full definition of one tool: description, input schema (its arguments), output schema and hints.',
      inputSchema: DESCRIBE_INPUT,
      annotations: { readOnlyHint: true, openWorldHint: false }
    },
    {
      name: 'call_tool',
      title: 'Call a tool',
      description: 'Calls a tool by name with its arguments (validated against its input schema) and returns its result.',
      inputSchema: CALL_INPUT,
      annotations: { openWorldHint: true }
    }
  ]
}

function textResult (value: object, isError = false): ToolResult {
  const result: ToolResult = { content: [{ type: 'text', text: JSON.stringify(value) }] }
  if (isError) result.isError = true
  else result.structuredContent = value as Record<string, unknown>
  return result
}

/** Nested quantifiers such as `(a+)+` backtrack exponentially: refused. */
const NESTED_QUANTIFIER = /\([^)]*[+*}][^)]*\)\s*[+*{]/

export class DiscoveryIndex {
  readonly #tools: CompiledTool[]
  readonly #byName: Map<string, CompiledTool>
  readonly #search: MiniSearch<IndexedTool>
  readonly #descriptors: ToolDescriptor[]
  readonly #legacy: ToolDescriptor[]

  constructor (tools: CompiledTool[]) {
    this.#tools = tools
    this.#byName = new Map(tools.map(t => [t.name, t]))
    this.#search = new MiniSearch<IndexedTool>({
      fields: ['name', 'title', 'description', 'parameters'],
      tokenize,
      processTerm,
      searchOptions: { boost: { name: 1, title: 3, description: 0.5, parameters: 0.3 }, prefix: term => term.length > 3, fuzzy: 0, combineWith: 'OR' }
    })
    this.#search.addAll(tools.map((tool, id) => ({
      id,
      name: tool.name,
      title: tool.descriptor.title ?? '',
      description: tool.descriptor.description ?? '',
      parameters: Object.keys((tool.descriptor.inputSchema.properties ?? {}) as Record<string, unknown>).join(' ')
    })))
    this.#descriptors = metaDescriptors(tools.length)
    this.#legacy = this.#descriptors.map(({ title: _, ...rest }) => rest)
  }

  /** tools/list: the three meta-tools. */
  descriptors (modern: boolean): ToolDescriptor[] {
    return modern ? this.#descriptors : this.#legacy
  }

  isMetaTool (name: string): boolean {
    return (META_TOOLS as readonly string[]).includes(name)
  }

  /** Ranked names for a query (the search_tools "ranked" mode). */
  rank (query: string, limit = 10): Array<{ name: string, score: number }> {
    return this.#search.search(query).slice(0, limit).map(hit => ({ name: this.#tools[hit.id as number]!.name, score: Math.round(hit.score * 1000) / 1000 }))
  }

  #summary (tool: CompiledTool, score?: number): Record<string, unknown> {
    return {
      name: tool.name,
      ...(tool.descriptor.title !== undefined ? { title: tool.descriptor.title } : {}),
      ...(tool.descriptor.description !== undefined ? { description: shortText(tool.descriptor.description, 200) } : {}),
      ...(score !== undefined ? { score } : {})
    }
  }

  /** A meta-tool call. Arguments were not validated by anyone yet: checked here. */
  answer (name: string, args: Record<string, unknown>, modern: boolean): MetaOutcome {
    if (name === 'search_tools') {
      const query = args.query
      const match = args.match ?? 'ranked'
      const limit = args.limit ?? 10
      if (typeof query !== 'string' || query.length === 0 || query.length > 500) return { result: textResult({ error: 'search_tools needs "query": a string of 1 to 500 characters' }, true) }
      if (match !== 'ranked' && match !== 'exact' && match !== 'regex') return { result: textResult({ error: '"match" must be "ranked", "exact" or "regex"' }, true) }
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 50) return { result: textResult({ error: '"limit" must be an integer from 1 to 50' }, true) }
      let tools: Array<Record<string, unknown>>
      if (match === 'ranked') {
        tools = this.rank(query, limit).map(hit => this.#summary(this.#byName.get(hit.name)!, hit.score))
      } else if (match === 'exact') {
        const needle = query.toLowerCase()
        tools = this.#tools.filter(t => t.name.toLowerCase().includes(needle) || (t.descriptor.title ?? '').toLowerCase().includes(needle)).slice(0, limit).map(t => this.#summary(t))
      } else {
        if (query.length > 200 || NESTED_QUANTIFIER.test(query)) return { result: textResult({ error: 'regex: at most 200 characters, and no nested quantifiers such as (a+)+' }, true) }
        let pattern: RegExp
        try {
          pattern = new RegExp(query, 'iu')
        } catch (err) {
          return { result: textResult({ error: `regex: ${(err as Error).message}` }, true) }
        }
        tools = this.#tools.filter(t => pattern.test(t.name) || pattern.test(t.descriptor.title ?? '')).slice(0, limit).map(t => this.#summary(t))
      }
      return { result: textResult({ tools, total: this.#tools.length }) }
    }
    const target = args.name
    if (typeof target !== 'string' || target.length === 0) return { result: textResult({ error: `${name} needs "name": a tool name from search_tools` }, true) }
    const tool = this.#byName.get(target)
    if (!tool) return { result: textResult({ error: `Unknown tool: ${target} (search_tools lists the tools)` }, true) }
    if (name === 'describe_tool') return { result: textResult(modern ? tool.descriptor : tool.legacyDescriptor) }
    const callArgs = args.arguments ?? {}
    if (callArgs === null || typeof callArgs !== 'object' || Array.isArray(callArgs)) return { result: textResult({ error: 'call_tool "arguments" must be an object' }, true) }
    return { call: { name: target, arguments: callArgs as Record<string, unknown> } }
  }
}

export function buildDiscoveryIndex (tools: CompiledTool[]): DiscoveryIndex {
  return new DiscoveryIndex(tools)
}
