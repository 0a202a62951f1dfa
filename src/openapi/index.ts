// OpenAPI import: a document (text, parsed object or URL) → tools upserted into one api server of
// the config document. The caller applies the resulting document through the normal atomic apply,
// so a bad document or a bad result changes nothing.
import type { ConfigDocument } from '../config/document.ts'
import { convertOpenApi, toolListSize, type ConvertOptions, type ImportFilters } from './convert.ts'
import { OpenApiError } from './errors.ts'
import { DEFAULT_MAX_OPENAPI_BYTES, fetchOpenApiText, loadOpenApi, parseOpenApiText, type LoadedDocument, type OpenApiObject } from './load.ts'
import { mergeImport, type ImportSummary, type MergeOptions } from './merge.ts'

export { OpenApiError } from './errors.ts'
export { DEFAULT_MAX_OPENAPI_BYTES } from './load.ts'
export type { ImportSummary } from './merge.ts'
export type { ImportFilters } from './convert.ts'

export type OpenApiSource =
  | { text: string }
  | { object: OpenApiObject }
  | { url: string }

export interface ImportOptions extends ImportFilters {
  server: string
  /** Defaults to the server's name. */
  provider?: string
  baseUrl?: string
  secrets?: Record<string, string>
  prune?: boolean
  simplify?: boolean
  outputSchemas?: boolean
}

export interface ImportPlan extends ImportSummary {
  sourceVersion: string
  /** tools/list size of the imported tools, as a plain conversion would give and as imported. */
  toolList: { before: { bytes: number, tokens: number }, after: { bytes: number, tokens: number } }
}

export async function readOpenApi (source: OpenApiSource, maxBytes = DEFAULT_MAX_OPENAPI_BYTES): Promise<LoadedDocument> {
  if ('url' in source) {
    const text = await fetchOpenApiText(source.url, maxBytes)
    return await loadOpenApi(parseOpenApiText(text, maxBytes), source.url)
  }
  if ('text' in source) return await loadOpenApi(parseOpenApiText(source.text, maxBytes))
  const size = Buffer.byteLength(JSON.stringify(source.object))
  if (size > maxBytes) throw new OpenApiError([{ path: '(document)', message: `is ${size} bytes, over the limit of ${maxBytes} bytes (TOOLGATE_MAX_OPENAPI_BYTES)` }], 413)
  return await loadOpenApi(structuredClone(source.object))
}

/** A relative `servers[0].url` is resolved against the URL the document came from. */
function absoluteBase (baseUrl: string | undefined, sourceUrl: string | undefined): string | undefined {
  if (baseUrl === undefined || sourceUrl === undefined || /^(https?:)?\/\//.test(baseUrl) || baseUrl.startsWith('${')) return baseUrl
  return new URL(baseUrl || '/', sourceUrl).toString().replace(/\/+$/, '')
}

/** Converts and merges into `doc` (changed in place). */
export function planImport (doc: ConfigDocument, loaded: LoadedDocument, options: ImportOptions): ImportPlan {
  const provider = options.provider ?? options.server
  const convertOptions: ConvertOptions = { ...options, provider }
  const converted = convertOpenApi(loaded.spec, convertOptions)
  converted.baseUrl = absoluteBase(converted.baseUrl, loaded.sourceUrl)
  if (converted.baseUrl === undefined) delete converted.baseUrl
  const after = toolListSize(converted.tools.map(t => t.tool))
  const before = options.simplify === false
    ? after
    : toolListSize(convertOpenApi(loaded.spec, { ...convertOptions, simplify: false }).tools.map(t => t.tool))
  const mergeOptions: MergeOptions = {
    server: options.server,
    provider,
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
    ...(options.secrets !== undefined ? { secrets: options.secrets } : {}),
    ...(options.prune !== undefined ? { prune: options.prune } : {})
  }
  const summary = mergeImport(doc, converted, mergeOptions)
  return { ...summary, sourceVersion: loaded.sourceVersion, toolList: { before, after } }
}

/** The summary as the CLI prints it. */
export function formatSummary (plan: ImportPlan, dryRun: boolean): string {
  const lines: string[] = []
  const verb = dryRun ? 'would be' : ''
  lines.push(`OpenAPI ${plan.sourceVersion} → server "${plan.server}" (provider "${plan.provider}")${dryRun ? ' — dry run, nothing applied' : ''}`)
  lines.push(`  created: ${plan.created.length}${verb ? ' (' + verb + ')' : ''}  updated: ${plan.updated.length}  unchanged: ${plan.unchanged.length}  skipped: ${plan.skipped.length}  filtered out: ${plan.filtered}`)
  for (const s of plan.skipped) lines.push(`  skipped ${s.method} ${s.path}${s.operationId ? ` (${s.operationId})` : ''}: ${s.reason}`)
  for (const r of plan.removed) lines.push(`  ${r.pruned ? 'removed' : 'no longer in the document (kept; --prune deletes)'}: ${r.name} (${r.method} ${r.path})`)
  for (const v of plan.variablesNeedingValues) lines.push(`  set SECRET variable ${v.name}: ${v.hint} (e.g. --secret ${v.name}=… on a re-import, or PUT /api/v1/variables/${v.name})`)
  for (const o of plan.oauth) {
    lines.push(`  OAuth2 scheme ${o.scheme} (used by ${o.operations} operations): not configured — provider OAuth is not available yet; flows: ${Object.entries(o.flows).map(([k, f]) => `${k}${f.tokenUrl ? ' ' + f.tokenUrl : ''}`).join(', ') || 'none'}`)
  }
  for (const n of plan.notes.slice(0, 50)) lines.push(`  note: ${n}`)
  if (plan.notes.length > 50) lines.push(`  … ${plan.notes.length - 50} more notes`)
  const { before, after } = plan.toolList
  lines.push(`  tools/list size: ${before.bytes} bytes (~${before.tokens} tokens) unsimplified → ${after.bytes} bytes (~${after.tokens} tokens) as imported`)
  return lines.join('\n')
}
