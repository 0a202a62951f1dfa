// Stateless signed values that any replica can check without shared memory (MCP session ids,
// debug tokens): base64url(JSON array of fields) + "." + base64url(HMAC-SHA256 of that text).
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'

export class FieldSigner {
  private readonly key: KeyObject

  constructor (key: Buffer) {
    this.key = createSecretKey(key)
  }

  private mac (payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest()
  }

  sign (fields: unknown[]): string {
    const payload = Buffer.from(JSON.stringify(fields)).toString('base64url')
    return `${payload}.${this.mac(payload).toString('base64url')}`
  }

  /** The fields of a well-formed, correctly signed value; undefined otherwise. The caller checks their types. */
  open (value: string): unknown[] | undefined {
    const dot = value.indexOf('.')
    if (dot < 1) return undefined
    const payload = value.slice(0, dot)
    const signature = value.slice(dot + 1)
    const given = Buffer.from(signature, 'base64url')
    // Only the canonical encoding: base64url decoding ignores stray trailing bits, so other
    // spellings of the same MAC would otherwise pass as the same value.
    if (given.toString('base64url') !== signature) return undefined
    const expected = this.mac(payload)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    try {
      const fields: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      return Array.isArray(fields) ? fields : undefined
    } catch {
      return undefined
    }
  }
}
