// Shapes an upstream HTTP response into an MCP tool result: JSON and text as text (plus
// structuredContent, which must then be a JSON object, when the tool declares an output schema),
// images and audio as their MCP content types, any other binary as an embedded resource blob.

export type ToolContent =
  | { type: 'text', text: string }
  | { type: 'image', data: string, mimeType: string }
  | { type: 'audio', data: string, mimeType: string }
  | { type: 'resource', resource: { uri: string, mimeType: string, blob: string } }

export interface ToolResult {
  content: ToolContent[]
  structuredContent?: Record<string, unknown>
  isError?: boolean
}

export const ERROR_EXCERPT_BYTES = 2048

export function errorResult (text: string): ToolResult {
  return { content: [{ type: 'text', text }], isError: true }
}

export function mediaType (contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

export function isJsonType (type: string): boolean {
  return type === 'application/json' || type.endsWith('+json')
}

export function isTextType (type: string): boolean {
  return type === '' || type.startsWith('text/') || isJsonType(type) || type.endsWith('+xml') ||
    type === 'application/xml' || type === 'application/javascript' || type === 'application/x-www-form-urlencoded' ||
    type === 'application/yaml' || type === 'application/x-yaml' || type === 'application/graphql'
}

/** At most ERROR_EXCERPT_BYTES of the body; `complete` is false when the body itself was cut off. */
function excerpt (body: Buffer, complete = true): string {
  if (body.length <= ERROR_EXCERPT_BYTES && complete) return body.toString('utf8')
  // Cut on a character boundary: decoding a truncated buffer drops a partial trailing character.
  const shown = new TextDecoder().decode(body.subarray(0, ERROR_EXCERPT_BYTES)).replace(/\uFFFD$/, '')
  return shown + (complete ? ` … (${body.length - ERROR_EXCERPT_BYTES} more bytes)` : ` … (body cut off after ${body.length} bytes)`)
}

export function upstreamErrorResult (status: number, statusText: string, body: Buffer, complete = true): ToolResult {
  const text = body.length > 0 ? `: ${excerpt(body, complete)}` : ''
  return errorResult(`Upstream responded ${status}${statusText ? ' ' + statusText : ''}${text}`)
}

/**
 * A tool that declares an output schema must return structuredContent with every success (MCP
 * 2025-06-18 and later; the SDK client rejects a result without it), so an upstream body that is
 * not a JSON object is reported as an error rather than passed on as a broken success.
 */
function structuredResult (type: string, body: Buffer): ToolResult {
  const text = body.toString('utf8')
  if (isJsonType(type) || type === '') {
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return { content: [{ type: 'text', text }], structuredContent: parsed as Record<string, unknown> }
      }
    } catch {
      // Not JSON after all: reported below.
    }
  }
  const shown = isTextType(type) && body.length > 0 ? `: ${excerpt(body)}` : ''
  return errorResult(`Upstream response is not a JSON object (${type || 'no content type'}, ${body.length} bytes), but the tool declares an output schema${shown}`)
}

export function successResult (contentType: string | undefined, body: Buffer, wantsStructured: boolean, resourceUri: string): ToolResult {
  const type = mediaType(contentType)
  if (wantsStructured) return structuredResult(type, body)
  if (isTextType(type)) return { content: [{ type: 'text', text: body.toString('utf8') }] }
  const data = body.toString('base64')
  if (type.startsWith('image/')) return { content: [{ type: 'image', data, mimeType: type }] }
  if (type.startsWith('audio/')) return { content: [{ type: 'audio', data, mimeType: type }] }
  return { content: [{ type: 'resource', resource: { uri: resourceUri, mimeType: type, blob: data } }] }
}
