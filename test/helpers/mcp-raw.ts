// Raw HTTP access to /mcp/:server, for what the MCP SDK client cannot express: exact statuses and
// headers, malformed bodies, foreign origins, batches, SSE-only Accept headers, old protocol eras.

export const ACCEPT_BOTH = 'application/json, text/event-stream'

export interface RawReply {
  status: number
  headers: Headers
  text: string
  /** The body parsed as JSON (or the JSON inside a single SSE `data:` line); undefined if neither. */
  json: any
}

function parseBody (text: string, contentType: string): unknown {
  try {
    if (contentType.startsWith('text/event-stream')) {
      const data = text.split('\n').find(line => line.startsWith('data: '))
      return data === undefined ? undefined : JSON.parse(data.slice('data: '.length))
    }
    return text === '' ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}

export interface RawOptions {
  method?: string
  key?: string
  session?: string
  version?: string
  accept?: string
  contentType?: string
  headers?: Record<string, string>
}

/** Sends one request to /mcp/<server>; `body` is JSON-encoded unless it is already a string. */
export async function mcpRaw (baseUrl: string, server: string, body: unknown, options: RawOptions = {}): Promise<RawReply> {
  const headers: Record<string, string> = { accept: options.accept ?? ACCEPT_BOTH, ...options.headers }
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`
  if (options.session !== undefined) headers['mcp-session-id'] = options.session
  if (options.version !== undefined) headers['mcp-protocol-version'] = options.version
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json'
  const response = await fetch(`${baseUrl}/mcp/${server}`, {
    method: options.method ?? 'POST',
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: parseBody(text, response.headers.get('content-type') ?? '') }
}

export function initializeMessage (protocolVersion: string, id: string | number = 1): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-test', version: '1.0.0' } }
  }
}

/** Runs the initialize handshake by hand; returns the session id and the negotiated version. */
export async function rawSession (baseUrl: string, server: string, key: string, protocolVersion = '2025-11-25'): Promise<{ session: string, version: string }> {
  const init = await mcpRaw(baseUrl, server, initializeMessage(protocolVersion), { key })
  const session = init.headers.get('mcp-session-id')
  if (init.status !== 200 || !session) throw new Error(`initialize failed: ${init.status} ${init.text}`)
  const version = init.json.result.protocolVersion as string
  const initialized = await mcpRaw(baseUrl, server, { jsonrpc: '2.0', method: 'notifications/initialized' }, { key, session, version })
  if (initialized.status !== 202) throw new Error(`notifications/initialized failed: ${initialized.status} ${initialized.text}`)
  return { session, version }
}
