// Bearer secrets we mint (API keys, admin tokens): 256 random bits, stored only as SHA-256.
// A fast hash is right here: the secrets are high-entropy, so there is nothing to brute-force.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export function mintToken (prefix: string): string {
  return prefix + randomBytes(32).toString('base64url')
}

export function hashToken (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

export function sameHash (a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

/** The token from `Authorization: Bearer <token>`, or undefined. */
export function bearerToken (header: string | undefined): string | undefined {
  if (!header) return undefined
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header)
  return match?.[1]
}
