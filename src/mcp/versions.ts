// MCP protocol revisions served on the same endpoint. Two eras: the legacy one negotiates a
// version in `initialize` and keeps a session; the modern one (2026-07-28 on) is stateless, every
// request naming its version in `_meta` and in the MCP-Protocol-Version header.

/** Negotiable through `initialize`, newest first. */
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const
/** Served statelessly; advertised by `server/discover`, newest first. */
export const MODERN_VERSIONS = ['2026-07-28'] as const

export type LegacyVersion = typeof LEGACY_VERSIONS[number]
export type ModernVersion = typeof MODERN_VERSIONS[number]
export type ProtocolVersion = LegacyVersion | ModernVersion

export const LATEST_LEGACY_VERSION: LegacyVersion = LEGACY_VERSIONS[0]
/** What the Streamable HTTP transport says to assume when a client sends no version header. */
export const DEFAULT_HEADER_VERSION: LegacyVersion = '2025-03-26'

export function isLegacyVersion (version: unknown): version is LegacyVersion {
  return typeof version === 'string' && (LEGACY_VERSIONS as readonly string[]).includes(version)
}

export function isModernVersion (version: unknown): version is ModernVersion {
  return typeof version === 'string' && (MODERN_VERSIONS as readonly string[]).includes(version)
}

export function isSupported (version: unknown): version is ProtocolVersion {
  return isLegacyVersion(version) || isModernVersion(version)
}

/**
 * Whether a version string belongs to the modern era, known or not. Revision ids are ISO dates,
 * so they order as strings; a future revision is modern (and then unsupported), not legacy.
 */
export function namesModernEra (version: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= MODERN_VERSIONS[MODERN_VERSIONS.length - 1]!
}

/** The version to answer initialize with: the client's when we speak it, else our latest. */
export function negotiate (requested: unknown): LegacyVersion {
  return isLegacyVersion(requested) ? requested : LATEST_LEGACY_VERSION
}

/** Batches exist only in 2025-03-26 (removed in 2025-06-18; never in the modern era). */
export function allowsBatches (version: ProtocolVersion): boolean {
  return version === '2025-03-26'
}

/** title and outputSchema on tools, structuredContent on results: 2025-06-18 and later. */
export function hasStructuredOutput (version: ProtocolVersion): boolean {
  return version !== '2025-03-26' && version !== '2024-11-05'
}
