// Masks secret values in text a hosted server wrote (its stderr), before the text reaches a log.
// Each secret is looked for as written, JSON-escaped (a server printing its config as JSON) and
// URL-encoded (a server printing a URL). Other encodings (base64, a secret split across two
// lines) are not recognised: redaction here is a second line of defence, not a guarantee.

export const REDACTED = '[REDACTED]'

export interface Redactor {
  /** The text with every occurrence of every secret replaced by [REDACTED]. */
  redact (text: string): string
  /** Length of the longest form searched for: a line kept to at least this much past a cut still shows every secret whole. */
  readonly longestSecret: number
}

export function createRedactor (secrets: readonly string[], replacement = REDACTED): Redactor {
  const forms = new Set<string>()
  for (const secret of secrets) {
    if (secret === '') continue
    forms.add(secret)
    forms.add(JSON.stringify(secret).slice(1, -1))
    forms.add(encodeURIComponent(secret))
  }
  if (forms.size === 0) return { redact: text => text, longestSecret: 0 }
  // One alternation, longest first, in a single pass: a secret contained in another is not
  // matched inside it, and the replacement text is never searched again.
  const ordered = [...forms].sort((a, b) => b.length - a.length)
  const pattern = new RegExp(ordered.map(escapeRegExp).join('|'), 'g')
  return { redact: text => text.replace(pattern, replacement), longestSecret: ordered[0]!.length }
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
