// Which era a POST belongs to, and the checks the 2026-07-28 revision makes before dispatch: the
// per-request `_meta` envelope and the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers that
// must agree with the body (so proxies can route on headers without reading bodies).
// The body decides the era; the version header only cross-checks it.
import { INVALID_PARAMS, type JsonRpcId } from './jsonrpc.ts'
import { isModernVersion, LEGACY_VERSIONS, MODERN_VERSIONS, namesModernEra, type ModernVersion } from './versions.ts'

export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion'
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities'
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo'
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo'
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId'

export const HEADER_MISMATCH = -32020
export const MISSING_CLIENT_CAPABILITY = -32021
export const UNSUPPORTED_PROTOCOL_VERSION = -32022

/** The body field Mcp-Name mirrors, per method. */
const NAME_SOURCE: Record<string, 'name' | 'uri'> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' }

export interface ModernEnvelope {
  version: ModernVersion
  clientCapabilities: Record<string, unknown>
  clientInfo?: { name: string, version: string }
}

export interface ModernHeaders {
  protocolVersion?: string
  method?: string
  name?: string
}

export interface Rejection {
  status: number
  code: number
  message: string
  data?: unknown
}

export type Era =
  | { era: 'legacy' }
  | { era: 'modern', envelope: ModernEnvelope }
  | { era: 'rejected', rejection: Rejection }

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function metaOf (params: unknown): Record<string, unknown> | undefined {
  return isObject(params) && isObject(params._meta) ? params._meta : undefined
}

/** Whether a message claims the per-request envelope (the version key is present in `_meta`). */
export function claimsEnvelope (message: unknown): boolean {
  const meta = isObject(message) ? metaOf(message.params) : undefined
  return meta !== undefined && META_PROTOCOL_VERSION in meta
}

function mismatch (message: string): Era {
  return { era: 'rejected', rejection: { status: 400, code: HEADER_MISMATCH, message: `Header mismatch: ${message}` } }
}

function invalidEnvelope (message: string, data?: unknown): Era {
  return { era: 'rejected', rejection: { status: 400, code: INVALID_PARAMS, message: `Invalid params: ${message}`, ...(data === undefined ? {} : { data }) } }
}

const ALL_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS]

/** `supported` lists what the request's era can use: modern revisions for an envelope claim. */
export function unsupportedVersion (requested: string | undefined, supported: readonly string[] = MODERN_VERSIONS): Rejection {
  return {
    status: 400,
    code: UNSUPPORTED_PROTOCOL_VERSION,
    message: requested === undefined ? 'Unsupported protocol version' : `Unsupported protocol version "${requested}"`,
    data: { supported: [...supported], ...(requested === undefined ? {} : { requested }) }
  }
}

/** Validates the envelope of a message that claims one. */
function readEnvelope (meta: Record<string, unknown>): ModernEnvelope | Era {
  const missing = [META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES].filter(key => !(key in meta))
  if (missing.length > 0) return invalidEnvelope(`_meta is missing ${missing.join(', ')}`, { missing })
  const version = meta[META_PROTOCOL_VERSION]
  if (typeof version !== 'string') return invalidEnvelope(`_meta.${META_PROTOCOL_VERSION} must be a string`)
  if (!isObject(meta[META_CLIENT_CAPABILITIES])) return invalidEnvelope(`_meta.${META_CLIENT_CAPABILITIES} must be an object`)
  const info = meta[META_CLIENT_INFO]
  if (info !== undefined && !(isObject(info) && typeof info.name === 'string' && typeof info.version === 'string')) {
    return invalidEnvelope(`_meta.${META_CLIENT_INFO} must be an object with string name and version`)
  }
  if (!isModernVersion(version)) return { era: 'rejected', rejection: unsupportedVersion(version) }
  return {
    version,
    clientCapabilities: meta[META_CLIENT_CAPABILITIES] as Record<string, unknown>,
    ...(info === undefined ? {} : { clientInfo: info as { name: string, version: string } })
  }
}

/** Decodes an Mcp-Name value: plain, or `=?base64?…?=` for values HTTP headers cannot carry. */
export function decodeHeaderValue (value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?='))) return value
  const encoded = value.slice(9, -2)
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(encoded)) return undefined
  const text = Buffer.from(encoded, 'base64').toString('utf8')
  return Buffer.from(text, 'utf8').toString('base64') === encoded ? text : undefined
}

/**
 * The era of one parsed POST body (a single message; batches are legacy-only and checked by the
 * caller with `claimsEnvelope`). Modern requests must carry all routing headers, matching the body.
 */
export function classifyMessage (message: Record<string, unknown>, headers: ModernHeaders): Era {
  const headerModern = headers.protocolVersion !== undefined && namesModernEra(headers.protocolVersion)
  const isRequest = 'id' in message
  const method = typeof message.method === 'string' ? message.method : undefined

  if (!claimsEnvelope(message)) {
    if (!headerModern) return { era: 'legacy' }
    if (!isRequest) {
      // Notifications carry no envelope: the header decides (and Mcp-Method must agree).
      if (!isModernVersion(headers.protocolVersion)) return { era: 'rejected', rejection: unsupportedVersion(headers.protocolVersion, ALL_VERSIONS) }
      if (headers.method !== undefined && headers.method !== method) return mismatch(`Mcp-Method "${headers.method}" but the body's method is "${method}"`)
      return { era: 'modern', envelope: { version: headers.protocolVersion, clientCapabilities: {} } }
    }
    if (method === 'initialize') return mismatch(`initialize is the legacy handshake but MCP-Protocol-Version is "${headers.protocolVersion}"`)
    // A revision we do not know is reported as such, with everything we do speak (either era).
    if (!isModernVersion(headers.protocolVersion)) return { era: 'rejected', rejection: unsupportedVersion(headers.protocolVersion, ALL_VERSIONS) }
    const meta = metaOf(message.params)
    return invalidEnvelope(`MCP-Protocol-Version "${headers.protocolVersion}" needs the per-request _meta envelope (missing ${meta === undefined ? '_meta' : META_PROTOCOL_VERSION})`,
      { missing: meta === undefined ? ['_meta'] : [META_PROTOCOL_VERSION] })
  }

  const envelope = readEnvelope(metaOf(message.params)!)
  if ('era' in envelope) {
    // An unknown version is reported as such only when the header agrees it was asked for.
    if (envelope.era === 'rejected' && envelope.rejection.code === UNSUPPORTED_PROTOCOL_VERSION && headers.protocolVersion !== undefined) {
      const claimed = (envelope.rejection.data as { requested?: string }).requested
      if (headers.protocolVersion !== claimed) return mismatch(`MCP-Protocol-Version "${headers.protocolVersion}" but _meta names "${claimed}"`)
    }
    return envelope
  }
  if (headers.protocolVersion === undefined) return mismatch(`the required MCP-Protocol-Version header is missing (_meta names "${envelope.version}")`)
  if (headers.protocolVersion !== envelope.version) return mismatch(`MCP-Protocol-Version "${headers.protocolVersion}" but _meta names "${envelope.version}"`)
  if (isRequest) {
    if (headers.method === undefined) return mismatch(`the required Mcp-Method header is missing (the body's method is "${method}")`)
    if (headers.method !== method) return mismatch(`Mcp-Method "${headers.method}" but the body's method is "${method}"`)
    const field = method === undefined ? undefined : NAME_SOURCE[method]
    const params = message.params as Record<string, unknown> | undefined
    const bodyName = field && typeof params?.[field] === 'string' ? params[field] as string : undefined
    if (bodyName !== undefined) {
      if (headers.name === undefined) return mismatch(`the required Mcp-Name header is missing (params.${field} is "${bodyName}")`)
      const decoded = decodeHeaderValue(headers.name)
      if (decoded === undefined) return mismatch('Mcp-Name carries an invalid base64 value')
      if (decoded !== bodyName) return mismatch(`Mcp-Name "${decoded}" but params.${field} is "${bodyName}"`)
    }
  } else if (headers.method !== undefined && headers.method !== method) {
    return mismatch(`Mcp-Method "${headers.method}" but the body's method is "${method}"`)
  }
  return { era: 'modern', envelope }
}

/** An error response's JSON-RPC id: the request's when it has a usable one. */
export function idOf (message: unknown): JsonRpcId | null {
  if (!isObject(message)) return null
  const id = message.id
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null
}
