// JSON-RPC 2.0 as MCP uses it: message classification, standard and MCP error codes, builders.

export type JsonRpcId = string | number

export interface JsonRpcRequest {
  jsonrpc: '2.0'
  id: JsonRpcId
  method: string
  params?: Record<string, unknown>
}

export interface JsonRpcNotification {
  jsonrpc: '2.0'
  method: string
  params?: Record<string, unknown>
}

export interface JsonRpcError {
  code: number
  message: string
  data?: unknown
}

export type JsonRpcResponse =
  | { jsonrpc: '2.0', id: JsonRpcId | null, result: unknown }
  | { jsonrpc: '2.0', id: JsonRpcId | null, error: JsonRpcError }

export const PARSE_ERROR = -32700
export const INVALID_REQUEST = -32600
export const METHOD_NOT_FOUND = -32601
export const INVALID_PARAMS = -32602
export const INTERNAL_ERROR = -32603
/** Implementation-defined server errors live in -32000…-32099. */
export const SERVER_ERROR = -32000
export const RATE_LIMITED = -32029

export type Incoming =
  | { kind: 'request', message: JsonRpcRequest }
  | { kind: 'notification', message: JsonRpcNotification }
  | { kind: 'response' }
  | { kind: 'invalid', id: JsonRpcId | null, reason: string }

function isId (value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
}

/** Classifies one parsed JSON value as a JSON-RPC message. */
export function classify (value: unknown): Incoming {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { kind: 'invalid', id: null, reason: 'a JSON-RPC message must be an object' }
  const message = value as Record<string, unknown>
  const id = isId(message.id) ? message.id : null
  if (message.jsonrpc !== '2.0') return { kind: 'invalid', id, reason: 'jsonrpc must be "2.0"' }
  if ('result' in message || 'error' in message) {
    if (!('method' in message)) return { kind: 'response' }
  }
  if (typeof message.method !== 'string' || message.method === '') return { kind: 'invalid', id, reason: 'method must be a non-empty string' }
  if (message.params !== undefined && (message.params === null || typeof message.params !== 'object' || Array.isArray(message.params))) {
    return { kind: 'invalid', id, reason: 'params must be an object' }
  }
  if (!('id' in message)) return { kind: 'notification', message: message as unknown as JsonRpcNotification }
  if (!isId(message.id)) return { kind: 'invalid', id: null, reason: 'id must be a string or a number' }
  return { kind: 'request', message: message as unknown as JsonRpcRequest }
}

export function errorResponse (id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcResponse {
  const error: JsonRpcError = { code, message }
  if (data !== undefined) error.data = data
  return { jsonrpc: '2.0', id, error }
}

export function resultResponse (id: JsonRpcId, result: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result }
}

/** An error a method handler throws to answer with a JSON-RPC error. */
export class RpcError extends Error {
  readonly code: number
  readonly data: unknown
  constructor (code: number, message: string, data?: unknown) {
    super(message)
    this.code = code
    this.data = data
  }
}
