// Shapes an upstream HTTP response into an MCP tool result: JSON and text as text (plus
// structuredContent when the tool declares an output schema), images and audio as their MCP
// content types, any other binary as an embedded resource blob.

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

function mediaType (contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

export function isJsonType (type: string): boolean {
  return type === 'application/json' || type.endsWith('+json')
}

function isTextType (type: string): boolean {
  return type === '' || type.startsWith('text/') || isJsonType(type) || type.endsWith('+xml') ||
    type === 'application/xml' || type === 'application/javascript' || type === 'application/x-www-form-urlencoded' ||
    type === 'application/yaml' || type === 'application/x-yaml' || type === 'application/graphql'
}

function excerpt (body: Buffer): string {
  if (body.length <= ERROR_EXCERPT_BYTES) return body.toString('utf8')
  // Cut on a character boundary: decoding a truncated buffer drops a partial trailing character.
  return new TextDecoder().decode(body.subarray(0, ERROR_EXCERPT_BYTES)).replace(/\uFFFD$/, '') + ` … (${body.length - ERROR_EXCERPT_BYTES} more bytes)`
}

export function upstreamErrorResult (status: number, statusText: string, body: Buffer): ToolResult {
  const text = body.length > 0 ? `: ${excerpt(body)}` : ''
  return errorResult(`Upstream responded ${status}${statusText ? ' ' + statusText : ''}${text}`)
}

export function successResult (contentType: string | undefined, body: Buffer, wantsStructured: boolean, resourceUri: string): ToolResult {
  const type = mediaType(contentType)
  if (isTextType(type)) {
    const text = body.toString('utf8')
    if (wantsStructured && (isJsonType(type) || type === '')) {
      try {
        const parsed: unknown = JSON.parse(text)
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
          return { content: [{ type: 'text', text }], structuredContent: parsed as Record<string, unknown> }
        }
      } catch {
        // Not JSON after all: plain text, no structured content.
      }
    }
    return { content: [{ type: 'text', text }] }
  }
  const data = body.toString('base64')
  if (type.startsWith('image/')) return { content: [{ type: 'image', data, mimeType: type }] }
  if (type.startsWith('audio/')) return { content: [{ type: 'audio', data, mimeType: type }] }
  return { content: [{ type: 'resource', resource: { uri: resourceUri, mimeType: type, blob: data } }] }
}
