// A JSON value carried as text, as a parsed value, or both: each conversion is done at most once.
// An upstream body enters as text and goes into a JS interceptor as that text (parsed once, inside the
// isolate); a JS interceptor's output comes back as text that becomes the tool result text as is.
// Only JMESPath (and whoever asks for value()) makes the host parse.

const UNSET: unique symbol = Symbol('unset')

export class JsonPayload {
  #text: string | undefined
  #value: unknown | typeof UNSET
  #bytes: number | undefined

  private constructor (text: string | undefined, value: unknown | typeof UNSET) {
    this.#text = text
    this.#value = value
  }

  /** A payload from JSON text (not checked here: value() throws SyntaxError if it is not JSON). */
  static ofText (jsonText: string): JsonPayload {
    return new JsonPayload(jsonText, UNSET)
  }

  /** A payload from a value (JSON.stringify'd once, when text() is first asked for). */
  static ofValue (value: unknown): JsonPayload {
    return new JsonPayload(undefined, value)
  }

  /** Whether the text form exists already (no stringify needed). */
  get hasText (): boolean { return this.#text !== undefined }
  /** Whether the parsed form exists already (no parse needed). */
  get hasValue (): boolean { return this.#value !== UNSET }

  text (): string {
    if (this.#text === undefined) {
      const text = JSON.stringify(this.#value)
      // JSON.stringify(undefined) is undefined: the JSON text of "nothing" is taken to be null.
      this.#text = text === undefined ? 'null' : text
    }
    return this.#text
  }

  value (): unknown {
    if (this.#value === UNSET) this.#value = JSON.parse(this.#text as string)
    return this.#value
  }

  /** UTF-8 bytes of text(). */
  byteLength (): number {
    if (this.#bytes === undefined) this.#bytes = Buffer.byteLength(this.text(), 'utf8')
    return this.#bytes
  }
}
