// Where interceptor chains meet a tool call: what they are given (arguments, the upstream body as
// JSON text or a string, a redacted view of the response headers) and how their output becomes
// an MCP tool result. Used by api tools (execute.ts) and MCP upstream tools (mcp/dispatch.ts).
import type { IncomingHttpHeaders } from 'node:http'
import { JsonPayload, type CompiledChain, type InterceptorContext } from '../interceptors/index.ts'
import { isJsonType, isTextType, mediaType, type ToolContent, type ToolResult } from './result.ts'

/** Response headers whose values are credentials or session handles: shown to interceptors as redacted. */
const CREDENTIAL_HEADER = /^(?:set-cookie|cookie|authorization|proxy-authorization|proxy-authenticate|www-authenticate)$|token|secret|api[-_]?key|session/i

export function redactedHeaders (headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    out[name] = CREDENTIAL_HEADER.test(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

/**
 * The upstream body as an interceptor sees it: JSON as its text (parsed once, by whichever engine
 * needs it), other text as a string. Binary bodies are not intercepted (undefined).
 */
export function bodyPayload (contentType: string | undefined, body: Buffer): JsonPayload | undefined {
  const type = mediaType(contentType)
  if (isJsonType(type)) return JsonPayload.ofText(body.toString('utf8'))
  if (isTextType(type)) return JsonPayload.ofValue(body.toString('utf8'))
  return undefined
}

/** Runs a request chain over the validated arguments; the output must be an object (the runtime checks). */
export async function interceptArguments (chain: CompiledChain, args: Record<string, unknown>, ctx: InterceptorContext): Promise<Record<string, unknown>> {
  const output = await chain.run(JsonPayload.ofValue(args), ctx)
  return output.value() as Record<string, unknown>
}

/** The text a model reads for an output: a string as itself, anything else as its JSON. */
function outputText (output: JsonPayload): string {
  const text = output.text()
  return text.startsWith('"') ? output.value() as string : text
}

/**
 * A response chain's output as a tool result. With an output schema the output is the
 * structuredContent (the caller checks it conforms); otherwise it is the text.
 */
export function interceptedResult (output: JsonPayload, structured: boolean): ToolResult {
  if (!structured) return { content: [{ type: 'text', text: outputText(output) }] }
  const value = output.value()
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { content: [{ type: 'text', text: `Response interceptors returned ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, but the tool declares an output schema (an object is needed)` }], isError: true }
  }
  return { content: [{ type: 'text', text: output.text() }], structuredContent: value as Record<string, unknown> }
}

/**
 * What an MCP upstream's tool result offers a response chain: its structuredContent, else the
 * JSON (or plain text) of a single text item. Results of other shapes pass through (undefined).
 */
export function mcpResultPayload (result: { content?: unknown, structuredContent?: unknown }): JsonPayload | undefined {
  if (result.structuredContent !== undefined && result.structuredContent !== null) return JsonPayload.ofValue(result.structuredContent)
  const content = result.content as ToolContent[] | undefined
  if (!Array.isArray(content) || content.length !== 1 || content[0]?.type !== 'text') return undefined
  const text = content[0].text
  try {
    return JsonPayload.ofValue(JSON.parse(text))
  } catch {
    return JsonPayload.ofValue(text)
  }
}

/** Byte size of what a result carries to the model (its text and structured parts). */
export function resultBytes (result: ToolResult): number {
  let bytes = 0
  for (const item of result.content) bytes += item.type === 'text' ? Buffer.byteLength(item.text) : 0
  return bytes
}
