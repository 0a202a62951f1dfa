// Key ring for sealing secrets at rest: AES-256-GCM, a random 96-bit nonce per seal, the row's
// identity as associated data (so a ciphertext copied to another row fails to open), and the key
// id stored beside the ciphertext so keys can rotate: new seals use the first (active) key, old
// rows still open with any listed key.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

export interface Sealed {
  keyId: string
  /** nonce (12) || ciphertext || tag (16) */
  data: Buffer
}

export class KeyRingError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'KeyRingError'
  }
}

const NONCE_BYTES = 12
const TAG_BYTES = 16

export class KeyRing {
  readonly activeKeyId: string
  private readonly keys: Map<string, Buffer>

  constructor (keys: Array<[string, Buffer]>) {
    if (keys.length === 0) throw new KeyRingError('the key ring needs at least one key')
    for (const [id, key] of keys) {
      if (key.length !== 32) throw new KeyRingError(`key "${id}" must be 32 bytes, got ${key.length}`)
    }
    this.keys = new Map(keys)
    if (this.keys.size !== keys.length) throw new KeyRingError('key ids must be unique')
    this.activeKeyId = keys[0]![0]
  }

  /** `id:base64key[,id:base64key…]`; the first key seals, all keys open. */
  static parse (spec: string): KeyRing {
    const entries = spec.split(',').map(s => s.trim()).filter(Boolean).map((entry): [string, Buffer] => {
      const colon = entry.indexOf(':')
      if (colon < 1) throw new KeyRingError(`expected "<key id>:<base64 32-byte key>", got an entry without an id`)
      const id = entry.slice(0, colon)
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new KeyRingError(`key id "${id}" must match [A-Za-z0-9_-]{1,32}`)
      return [id, Buffer.from(entry.slice(colon + 1), 'base64')]
    })
    return new KeyRing(entries)
  }

  static generateSpec (id = `k${Date.now().toString(36)}`): string {
    return `${id}:${randomBytes(32).toString('base64')}`
  }

  get keyIds (): string[] {
    return [...this.keys.keys()]
  }

  /** A one-way fingerprint of a key (HMAC of a fixed label): tells keys apart, reveals nothing. */
  fingerprint (id: string): string {
    const key = this.keys.get(id)
    if (!key) throw new KeyRingError(`no key "${id}" in the key ring`)
    return createHmac('sha256', key).update('toolgate key fingerprint v1').digest('base64url')
  }

  hasKey (id: string): boolean {
    return this.keys.has(id)
  }

  seal (plaintext: string | Buffer, associatedData: string): Sealed {
    const key = this.keys.get(this.activeKeyId)!
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key, nonce)
    cipher.setAAD(Buffer.from(associatedData, 'utf8'))
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return { keyId: this.activeKeyId, data: Buffer.concat([nonce, body, cipher.getAuthTag()]) }
  }

  open (sealed: Sealed, associatedData: string): Buffer {
    const key = this.keys.get(sealed.keyId)
    if (!key) throw new KeyRingError(`no key "${sealed.keyId}" in the key ring (was it removed before rotation finished?)`)
    if (sealed.data.length < NONCE_BYTES + TAG_BYTES) throw new KeyRingError('sealed value is truncated')
    const nonce = sealed.data.subarray(0, NONCE_BYTES)
    const tag = sealed.data.subarray(sealed.data.length - TAG_BYTES)
    const body = sealed.data.subarray(NONCE_BYTES, sealed.data.length - TAG_BYTES)
    const decipher = createDecipheriv('aes-256-gcm', key, nonce)
    decipher.setAAD(Buffer.from(associatedData, 'utf8'))
    decipher.setAuthTag(tag)
    try {
      return Buffer.concat([decipher.update(body), decipher.final()])
    } catch {
      throw new KeyRingError('sealed value failed authentication (wrong key, wrong row or tampered)')
    }
  }

  openText (sealed: Sealed, associatedData: string): string {
    return this.open(sealed, associatedData).toString('utf8')
  }

  /**
   * A purpose-bound subkey (HKDF-SHA256 of the active key), for keyed hashes and signatures that
   * every replica must compute alike, e.g. the rate-limit address hash.
   */
  deriveKey (purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.keys.get(this.activeKeyId)!, Buffer.alloc(0), `toolgate:${purpose}`, 32))
  }
}
