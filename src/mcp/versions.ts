// MCP protocol revisions served on the same endpoint, newest first.

export const SUPPORTED_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const
export type ProtocolVersion = typeof SUPPORTED_VERSIONS[number]
export const LATEST_VERSION: ProtocolVersion = SUPPORTED_VERSIONS[0]
/** What the Streamable HTTP transport says to assume when a client sends no version header. */
export const DEFAULT_HEADER_VERSION: ProtocolVersion = '2025-03-26'

export function isSupported (version: unknown): version is ProtocolVersion {
  return typeof version === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(version)
}

/** The version to answer initialize with: the client's when we speak it, else our latest. */
export function negotiate (requested: unknown): ProtocolVersion {
  return isSupported(requested) ? requested : LATEST_VERSION
}

/** Batches exist only in 2025-03-26 (removed in 2025-06-18). */
export function allowsBatches (version: ProtocolVersion): boolean {
  return version === '2025-03-26'
}

/** title and outputSchema on tools, structuredContent on results: 2025-06-18 and later. */
export function hasStructuredOutput (version: ProtocolVersion): boolean {
  return version !== '2025-03-26'
}
