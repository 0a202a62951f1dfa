// An OpenAPI document from text, a URL or an already parsed body → a validated OpenAPI 3.1 object.
// Swagger 2.0 and OpenAPI 3.0 are upgraded to 3.1 (@scalar/openapi-parser), so the converter
// speaks one dialect. Every problem names its place in the document; nothing here touches config.
import { request } from 'undici'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { upgrade, validate } from '@scalar/openapi-parser'
import { pointerToPath } from '../config/paths.ts'
import { OpenApiError, type OpenApiProblem } from './errors.ts'

export type OpenApiObject = Record<string, unknown>

export interface LoadedDocument {
  /** The document, upgraded to OpenAPI 3.1. */
  spec: OpenApiObject
  /** What the document said it was: `2.0`, `3.0.3`, `3.1.0`, … */
  sourceVersion: string
  /** Where it came from (a URL resolves relative `servers[].url`). */
  sourceUrl?: string
}

export const DEFAULT_MAX_OPENAPI_BYTES = 16 * 1024 * 1024

function tooLarge (bytes: number, maxBytes: number): OpenApiError {
  return new OpenApiError([{ path: '(document)', message: `is ${bytes} bytes, over the limit of ${maxBytes} bytes (TOOLGATE_MAX_OPENAPI_BYTES)` }], 413)
}

/** JSON or YAML text → a plain object. YAML errors name line and column. */
export function parseOpenApiText (text: string, maxBytes = DEFAULT_MAX_OPENAPI_BYTES): OpenApiObject {
  const bytes = Buffer.byteLength(text)
  if (bytes > maxBytes) throw tooLarge(bytes, maxBytes)
  const trimmed = text.trimStart()
  let value: unknown
  if (trimmed.startsWith('{')) {
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new OpenApiError([{ path: '(document)', message: `is not valid JSON: ${(err as Error).message}` }])
    }
  } else {
    try {
      value = parseYaml(text, { maxAliasCount: 1000 })
    } catch (err) {
      if (err instanceof YAMLParseError) {
        const at = err.linePos?.[0]
        const where = at ? `line ${at.line}, column ${at.col}` : '(document)'
        throw new OpenApiError([{ path: where, message: `is not valid YAML: ${err.message.split('\n')[0]}` }])
      }
      throw new OpenApiError([{ path: '(document)', message: `is not valid YAML: ${(err as Error).message}` }])
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OpenApiError([{ path: '(document)', message: 'must be an object (an OpenAPI or Swagger document)' }])
  }
  return value as OpenApiObject
}

/** Fetches a document over http(s), refusing bodies over the limit while they stream in. */
export async function fetchOpenApiText (url: string, maxBytes = DEFAULT_MAX_OPENAPI_BYTES, timeoutMs = 30_000): Promise<string> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new OpenApiError([{ path: 'url', message: `"${url}" is not an absolute URL` }])
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new OpenApiError([{ path: 'url', message: 'must be an http or https URL' }])
  let response
  try {
    response = await request(parsed, { method: 'GET', headers: { accept: 'application/json, application/yaml, text/yaml, */*' }, signal: AbortSignal.timeout(timeoutMs), maxRedirections: 0 } as Parameters<typeof request>[1])
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new OpenApiError([{ path: 'url', message: `could not be fetched: ${code ?? (err as Error).message}` }], 502)
  }
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new OpenApiError([{ path: 'url', message: `answered HTTP ${response.statusCode} (expected 200)` }], 502)
  }
  const declared = Number(response.headers['content-length'])
  if (declared > maxBytes) {
    await response.body.dump()
    throw tooLarge(declared, maxBytes)
  }
  const chunks: Buffer[] = []
  let received = 0
  for await (const chunk of response.body) {
    received += (chunk as Buffer).length
    if (received > maxBytes) {
      response.body.destroy()
      throw tooLarge(received, maxBytes)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks, received).toString('utf8')
}

function detectVersion (doc: OpenApiObject): string {
  if (doc.swagger !== undefined) {
    if (doc.swagger === '2.0') return '2.0'
    throw new OpenApiError([{ path: 'swagger', message: `unsupported version ${JSON.stringify(doc.swagger)} (supported: Swagger 2.0, OpenAPI 3.0 and 3.1)` }])
  }
  if (doc.openapi === undefined) throw new OpenApiError([{ path: 'openapi', message: 'is missing: not an OpenAPI 3.x or Swagger 2.0 document' }])
  if (typeof doc.openapi !== 'string' || !/^3\.[01]\.\d+(-.+)?$/.test(doc.openapi)) {
    throw new OpenApiError([{ path: 'openapi', message: `unsupported version ${JSON.stringify(doc.openapi)} (supported: Swagger 2.0, OpenAPI 3.0 and 3.1)` }])
  }
  return doc.openapi
}

/** Every `$ref` that points nowhere (or outside the document), with the place it was written. */
export function danglingReferences (doc: OpenApiObject): OpenApiProblem[] {
  const problems: OpenApiProblem[] = []
  const walk = (node: unknown, pointer: string): void => {
    if (problems.length >= 20 || node === null || typeof node !== 'object') return
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${pointer}/${i}`))
      return
    }
    const ref = (node as Record<string, unknown>).$ref
    if (typeof ref === 'string') {
      const at = pointerToPath(`${pointer}/$ref`)
      if (!ref.startsWith('#')) problems.push({ path: at, message: `"${ref}": references to other files or URLs are not supported (bundle the document first)` })
      else if (resolvePointer(doc, ref) === undefined) problems.push({ path: at, message: `"${ref}" does not resolve: nothing at that location in the document` })
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'example' || key === 'examples') continue // examples may hold anything, $ref included
      walk(value, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`)
    }
  }
  walk(doc, '')
  return problems
}

/** `#/components/schemas/Pet` → the node, or undefined. */
export function resolvePointer (doc: unknown, ref: string): unknown {
  if (ref === '#') return doc
  if (!ref.startsWith('#/')) return undefined
  let node: unknown = doc
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/** Parsed document → validated OpenAPI 3.1. Throws OpenApiError listing the problems with their paths. */
export async function loadOpenApi (doc: OpenApiObject, sourceUrl?: string): Promise<LoadedDocument> {
  const sourceVersion = detectVersion(doc)
  const dangling = danglingReferences(doc)
  if (dangling.length > 0) throw new OpenApiError(dangling)
  const checked = await validate(doc)
  if (!checked.valid) {
    const problems = (checked.errors ?? []).slice(0, 20).map(e => ({
      path: typeof e.path === 'string' && e.path !== '' ? pointerToPath(e.path.startsWith('/') ? e.path : `/${e.path}`) : '(document)',
      message: e.message
    }))
    throw new OpenApiError(problems.length > 0 ? problems : [{ path: '(document)', message: 'is not a valid OpenAPI document' }])
  }
  const upgraded = upgrade(doc)
  const spec = upgraded.specification as unknown as OpenApiObject | undefined
  if (!spec) throw new OpenApiError([{ path: '(document)', message: 'could not be upgraded to OpenAPI 3.1' }])
  return { spec, sourceVersion, ...(sourceUrl !== undefined ? { sourceUrl } : {}) }
}
