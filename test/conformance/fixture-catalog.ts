// What the conformance fixture serves, independent of the protocol era: tool, resource and prompt
// definitions and the static results the scenarios check (names and texts are the ones the
// scenario descriptions of @modelcontextprotocol/conformance 0.1.16 and 0.2.0-alpha.12 ask for).
// Behaviour that differs by era (logging, progress, sampling, elicitation, input-required
// results) lives in fixture-legacy.ts and fixture-modern.ts.
import { FIXTURE_AUDIO_BASE64, FIXTURE_IMAGE_BASE64, SIMPLE_TEXT } from './fixture-content.ts'

type Json = Record<string, unknown>

export const FIXTURE_INFO = { name: 'toolgate-conformance-fixture', version: '1.0.0' }

const NO_ARGS = { type: 'object', properties: {} }

/** SEP-1613/SEP-2106: 2020-12 keywords that must survive listing unchanged. */
export const JSON_SCHEMA_2020_12_INPUT = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' }
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false
}

/** Tools both eras list. */
export const COMMON_TOOLS: Json[] = [
  { name: 'test_simple_text', description: 'Tests simple text content response', inputSchema: NO_ARGS },
  { name: 'test_image_content', description: 'Tests image content response', inputSchema: NO_ARGS },
  { name: 'test_audio_content', description: 'Tests audio content response', inputSchema: NO_ARGS },
  { name: 'test_embedded_resource', description: 'Tests embedded resource content response', inputSchema: NO_ARGS },
  { name: 'test_multiple_content_types', description: 'Tests response with multiple content types (text, image, resource)', inputSchema: NO_ARGS },
  { name: 'test_tool_with_logging', description: 'Tests tool that emits log messages during execution', inputSchema: NO_ARGS },
  { name: 'test_tool_with_progress', description: 'Tests tool that reports progress notifications', inputSchema: NO_ARGS },
  { name: 'test_error_handling', description: 'Tests error response handling', inputSchema: NO_ARGS },
  { name: 'json_schema_2020_12_tool', description: 'Tool with JSON Schema 2020-12 features', inputSchema: JSON_SCHEMA_2020_12_INPUT },
  {
    // SEP-2243 (2026-07-28): 2026 clients mirror `region` into Mcp-Param-Region; servers check it.
    name: 'test_custom_header_echo',
    description: 'Echoes a region argument that clients mirror into the Mcp-Param-Region header',
    inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } }, required: ['region'] }
  }
]

/** Tools whose results do not depend on the era or the client: the result, or undefined. */
export function staticToolResult (name: string, args: Json): Json | undefined {
  switch (name) {
    case 'test_simple_text':
      return { content: [{ type: 'text', text: SIMPLE_TEXT }] }
    case 'test_image_content':
      return { content: [{ type: 'image', data: FIXTURE_IMAGE_BASE64, mimeType: 'image/png' }] }
    case 'test_audio_content':
      return { content: [{ type: 'audio', data: FIXTURE_AUDIO_BASE64, mimeType: 'audio/wav' }] }
    case 'test_embedded_resource':
      return { content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }] }
    case 'test_multiple_content_types':
      return {
        content: [
          { type: 'text', text: 'Multiple content types test:' },
          { type: 'image', data: FIXTURE_IMAGE_BASE64, mimeType: 'image/png' },
          { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } }
        ]
      }
    case 'test_error_handling':
      // A tool execution error is a result with isError, not a JSON-RPC error (spec: tools, error handling).
      return { isError: true, content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }] }
    case 'test_custom_header_echo':
      return { content: [{ type: 'text', text: `region=${String(args.region)}` }] }
    case 'json_schema_2020_12_tool':
      return { content: [{ type: 'text', text: `JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}` }] }
    default:
      return undefined
  }
}

export const RESOURCES: Json[] = [
  { uri: 'test://static-text', name: 'static-text', title: 'Static Text Resource', description: 'A static text resource for testing', mimeType: 'text/plain' },
  { uri: 'test://static-binary', name: 'static-binary', title: 'Static Binary Resource', description: 'A static binary resource (image) for testing', mimeType: 'image/png' },
  { uri: 'test://watched-resource', name: 'watched-resource', title: 'Watched Resource', description: 'A resource clients can subscribe to', mimeType: 'text/plain' }
]

export const RESOURCE_TEMPLATES: Json[] = [
  { uriTemplate: 'test://template/{id}/data', name: 'template', title: 'Resource Template', description: 'A resource template with parameter substitution', mimeType: 'application/json' }
]

/** The contents of a resource, or undefined for a URI the fixture does not know. */
export function readResource (uri: string): Json[] | undefined {
  if (uri === 'test://static-text') return [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }]
  if (uri === 'test://static-binary') return [{ uri, mimeType: 'image/png', blob: FIXTURE_IMAGE_BASE64 }]
  if (uri === 'test://watched-resource') return [{ uri, mimeType: 'text/plain', text: 'Watched resource content' }]
  const template = /^test:\/\/template\/([^/]+)\/data$/.exec(uri)
  if (template) {
    const id = decodeURIComponent(template[1]!)
    return [{ uri, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }]
  }
  return undefined
}

export const PROMPTS: Json[] = [
  { name: 'test_simple_prompt', title: 'Simple Test Prompt', description: 'A simple prompt without arguments' },
  {
    name: 'test_prompt_with_arguments',
    title: 'Prompt With Arguments',
    description: 'A prompt with required arguments',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true }
    ]
  },
  {
    name: 'test_prompt_with_embedded_resource',
    title: 'Prompt With Embedded Resource',
    description: 'A prompt that includes an embedded resource',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }]
  },
  { name: 'test_prompt_with_image', title: 'Prompt With Image', description: 'A prompt that includes image content' }
]

/** A prompt's messages, or undefined for an unknown prompt. */
export function getPrompt (name: string, args: Record<string, string>): Json | undefined {
  switch (name) {
    case 'test_simple_prompt':
      return { messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }] }
    case 'test_prompt_with_arguments':
      return { messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'` } }] }
    case 'test_prompt_with_embedded_resource':
      return {
        messages: [
          { role: 'user', content: { type: 'resource', resource: { uri: args.resourceUri ?? 'test://example-resource', mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
          { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } }
        ]
      }
    case 'test_prompt_with_image':
      return {
        messages: [
          { role: 'user', content: { type: 'image', data: FIXTURE_IMAGE_BASE64, mimeType: 'image/png' } },
          { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }
        ]
      }
    default:
      return undefined
  }
}

/** completion/complete: minimal, as the scenario allows, but answering the prompt argument. */
export function complete (argumentValue: string): Json {
  const values = ['paris', 'park', 'party'].filter(v => v.startsWith(argumentValue))
  return { completion: { values, total: values.length, hasMore: false } }
}
