// The `fetch` an upstream session's Streamable HTTP transport uses: undici `Pool.request` on a
// keep-alive pool owned by the session, with an answer shaped like the parts of `Response` the
// SDK transport reads (ok, status, headers.get, json, text, body).
//
// Why not the global fetch: measured in bench/ (remote-mcp row), the SDK client over global fetch
// spent ~430 µs of CPU per tools/call, most of it in fetch's WHATWG stream machinery and in
// abort-listener bookkeeping on the transport's one shared signal; the project picked
// `undici.request` over fetch for the same reason (DESIGN, Stack). The body becomes a web stream
// only when the SDK asks for one (SSE responses, cancel()).
//
// Bodies of answers to POSTs are capped at maxBodyBytes (a JSON answer, or every event of an SSE
// answer together): a bigger one fails that request with UpstreamResponseTooLargeError and is not
// read further. The GET event stream is not capped: it lives as long as the session.
//
// Not handled, on purpose: redirects (never followed; the SDK reports them), and the request's
// AbortSignal: it is the transport's close signal, shared by every request, and closing the
// session destroys the pool, which ends every exchange on it.
import { pipeline, Readable, Transform } from 'node:stream'
import { Pool, type Dispatcher } from 'undici'
import { UpstreamResponseTooLargeError } from './errors.ts'

type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>

export interface PooledFetch {
  fetch: FetchLike
  close (): Promise<void>
}

class PooledHeaders {
  readonly #raw: Record<string, string | string[] | undefined>
  constructor (raw: Record<string, string | string[] | undefined>) {
    this.#raw = raw
  }

  get (name: string): string | null {
    const value = this.#raw[name.toLowerCase()]
    if (value === undefined) return null
    return Array.isArray(value) ? value.join(', ') : value
  }

  has (name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined
  }

  forEach (callback: (value: string, name: string) => void): void {
    for (const name of Object.keys(this.#raw)) {
      const value = this.get(name)
      if (value !== null) callback(value, name)
    }
  }
}

class PooledResponse {
  readonly status: number
  readonly ok: boolean
  readonly statusText = ''
  readonly headers: PooledHeaders
  readonly url: string
  readonly type = 'basic'
  readonly redirected = false
  readonly #body: Dispatcher.ResponseData['body']
  /** undefined: no cap. */
  readonly #limit: number | undefined
  #web: ReadableStream<Uint8Array> | undefined

  constructor (url: string, data: Dispatcher.ResponseData, limit: number | undefined) {
    this.url = url
    this.status = data.statusCode
    this.ok = data.statusCode >= 200 && data.statusCode < 300
    this.headers = new PooledHeaders(data.headers)
    this.#body = data.body
    this.#limit = limit
  }

  get body (): ReadableStream<Uint8Array> {
    // pipeline, not pipe: an error on either side (the cap, a reset connection) ends both.
    this.#web ??= Readable.toWeb(this.#limit === undefined ? this.#body : pipeline(this.#body, capped(this.#limit), () => {})) as ReadableStream<Uint8Array>
    return this.#web
  }

  async text (): Promise<string> {
    return (await this.#read()).toString('utf8')
  }

  async json (): Promise<unknown> {
    return JSON.parse((await this.#read()).toString('utf8'))
  }

  /** Stops reading (the connection is dropped, not drained) and fails the request. */
  #discard (limit: number): never {
    this.#body.on('error', () => {}) // destroying reports "Request aborted"; nobody reads it
    this.#body.destroy()
    throw new UpstreamResponseTooLargeError(limit)
  }

  /** The whole body, by 'data' events (cheaper than an async iterator on this hot path). */
  async #read (): Promise<Buffer> {
    const limit = this.#limit ?? Infinity
    const declared = Number(this.headers.get('content-length'))
    if (declared > limit) this.#discard(limit)
    const body = this.#body
    return await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      body.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size <= limit) chunks.push(chunk)
        else {
          try { this.#discard(limit) } catch (err) { reject(err) }
        }
      })
      body.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
      body.once('error', reject)
    })
  }
}

/** Passes bytes through until `limit`, then fails the stream. */
function capped (limit: number): Transform {
  let size = 0
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      size += chunk.length
      if (size > limit) done(new UpstreamResponseTooLargeError(limit))
      else done(null, chunk)
    }
  })
}

function plainHeaders (headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  if (headers instanceof Headers) {
    headers.forEach((value, name) => { out[name] = value })
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers) out[name!.toLowerCase()] = value!
  } else {
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = value
  }
  return out
}

/** A fetch for one upstream origin; requests to another origin are refused (the transport never makes them). */
export function createPooledFetch (origin: string, options: { connections?: number, maxBodyBytes?: number } = {}): PooledFetch {
  const pool = new Pool(origin, {
    connections: options.connections ?? 128,
    keepAliveTimeout: 10_000,
    // Calls are bounded by the SDK's request timeout; a JSON answer to a long tool call comes
    // late, and a GET event stream stays open for as long as the session lives.
    headersTimeout: 0,
    bodyTimeout: 0
  })
  const fetch: FetchLike = async (input, init = {}) => {
    const url = typeof input === 'string' ? new URL(input) : input
    if (url.origin !== origin) throw new TypeError(`pooled fetch for ${origin} cannot reach another origin`)
    const body = init.body
    if (body !== undefined && body !== null && typeof body !== 'string') throw new TypeError('pooled fetch sends string bodies only')
    const method = (init.method ?? 'GET') as Dispatcher.HttpMethod
    const data = await pool.request({ origin, path: url.pathname + url.search, method, headers: plainHeaders(init.headers), body: body ?? null })
    return new PooledResponse(url.href, data, method === 'POST' ? options.maxBodyBytes : undefined) as unknown as Response
  }
  return { fetch, close: async () => { await pool.destroy().catch(() => {}) } }
}
