// The `fetch` an upstream session's Streamable HTTP transport uses: undici on a keep-alive pool
// owned by the session, with an answer shaped like the parts of `Response` the SDK transport reads
// (ok, status, headers.get, json, text, body).
//
// Why not the global fetch: measured in bench/ (remote-mcp row), the SDK client over global fetch
// spent ~430 µs of CPU per tools/call, most of it in fetch's WHATWG stream machinery and in
// abort-listener bookkeeping on the transport's one shared signal; the project picked
// `undici.request` over fetch for the same reason (DESIGN, Stack).
//
// POSTs (every call) go through `Pool.dispatch` with a small handler of our own: the answer's
// chunks are collected as they arrive and handed to json()/text() at the end, with no Node stream,
// no async resource and no body object in between (`Pool.request` makes all three per call). The
// body becomes a stream only when the SDK asks for one (an SSE answer, cancel()); it then gets the
// chunks received so far and the rest as they come, with backpressure. Other methods (the GET event
// stream, DELETE at close: one per session) use `Pool.request`.
//
// Bodies of answers to POSTs are capped at maxBodyBytes (a JSON answer, or every event of an SSE
// answer together): a bigger one fails that request with UpstreamResponseTooLargeError and is not
// read further (the connection is dropped). The GET event stream is not capped: it lives as long
// as the session.
//
// Not handled, on purpose: redirects (never followed; the SDK reports them), and the request's
// AbortSignal: it is the transport's close signal, shared by every request, and closing the
// session destroys the pool, which ends every exchange on it.
import { Readable } from 'node:stream'
import { Pool, type Dispatcher } from 'undici'
import { UpstreamResponseTooLargeError } from './errors.ts'

type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>
type RawHeaders = Record<string, string | string[] | undefined>

export interface PooledFetch {
  fetch: FetchLike
  close (): Promise<void>
}

class PooledHeaders {
  readonly #raw: RawHeaders
  constructor (raw: RawHeaders) {
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

/** Where a PooledResponse's body comes from. */
interface BodySource {
  /** The whole body (rejects with the cap's error, a reset connection…). */
  read (): Promise<Buffer>
  stream (): Readable
}

class PooledResponse {
  readonly status: number
  readonly ok: boolean
  readonly statusText = ''
  readonly headers: PooledHeaders
  readonly url: string
  readonly type = 'basic'
  readonly redirected = false
  readonly #source: BodySource
  #web: ReadableStream<Uint8Array> | undefined

  constructor (url: string, status: number, headers: RawHeaders, source: BodySource) {
    this.url = url
    this.status = status
    this.ok = status >= 200 && status < 300
    this.headers = new PooledHeaders(headers)
    this.#source = source
  }

  get body (): ReadableStream<Uint8Array> {
    this.#web ??= Readable.toWeb(this.#source.stream()) as ReadableStream<Uint8Array>
    return this.#web
  }

  async text (): Promise<string> {
    return (await this.#source.read()).toString('utf8')
  }

  async json (): Promise<unknown> {
    return JSON.parse((await this.#source.read()).toString('utf8'))
  }
}

function noop (): void {}

/**
 * One POST exchange (an undici dispatch handler): resolves `response` at the headers, collects the
 * body (at most `limit` bytes) for read(), or feeds it to a stream once stream() was called.
 */
class Exchange implements BodySource {
  readonly response: Promise<PooledResponse>
  readonly #url: string
  readonly #limit: number
  #resolve!: (response: PooledResponse) => void
  #reject!: (err: Error) => void
  #controller: Dispatcher.DispatchController | undefined
  #started = false
  #ended = false
  #error: Error | undefined
  #chunks: Buffer[] = []
  #size = 0
  /** A read() waiting for the end. */
  #reader: { resolve: (body: Buffer) => void, reject: (err: Error) => void } | undefined
  #stream: Readable | undefined
  #used = false

  constructor (url: string, limit: number) {
    this.#url = url
    this.#limit = limit
    this.response = new Promise<PooledResponse>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  // ── undici's side ──

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: RawHeaders): void {
    if (statusCode < 200) return // 1xx: the real answer follows
    this.#started = true
    const declared = Number(headers['content-length'])
    if (declared > this.#limit) this.#tooLarge(controller)
    this.#resolve(new PooledResponse(this.#url, statusCode, headers, this))
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#error) return
    this.#size += chunk.length
    if (this.#size > this.#limit) {
      this.#tooLarge(controller)
      return
    }
    if (this.#stream) {
      if (!this.#stream.push(chunk)) controller.pause()
    } else {
      this.#chunks.push(chunk)
    }
  }

  onResponseEnd (): void {
    if (this.#error) return
    this.#ended = true
    if (this.#stream) {
      this.#stream.push(null)
      return
    }
    if (this.#reader) {
      this.#reader.resolve(this.#whole())
      this.#reader = undefined
    }
  }

  onResponseError (_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.#fail(err)
  }

  // ── the response's side ──

  read (): Promise<Buffer> {
    if (this.#error) return Promise.reject(this.#error)
    if (this.#used) return Promise.reject(new TypeError('Body has already been used'))
    this.#used = true
    if (this.#ended) return Promise.resolve(this.#whole())
    return new Promise((resolve, reject) => { this.#reader = { resolve, reject } })
  }

  stream (): Readable {
    if (this.#stream) return this.#stream
    if (this.#used) throw new TypeError('Body has already been used')
    this.#used = true
    const stream = new Readable({
      read: () => this.#controller?.resume(),
      destroy: (err, callback) => {
        // Given up before the end (cancel(), or an error): stop reading; the connection is dropped.
        if (!this.#ended && !this.#error) {
          this.#error = err ?? new Error('response body cancelled')
          this.#controller?.abort(this.#error)
        }
        callback(err)
      }
    })
    this.#stream = stream
    if (this.#error) {
      stream.destroy(this.#error)
      return stream
    }
    for (const chunk of this.#chunks) stream.push(chunk)
    this.#chunks = []
    if (this.#ended) stream.push(null)
    return stream
  }

  #whole (): Buffer {
    const chunks = this.#chunks
    this.#chunks = []
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size)
  }

  /** Stops reading (the connection is dropped, not drained) and fails the body. */
  #tooLarge (controller: Dispatcher.DispatchController): void {
    const err = new UpstreamResponseTooLargeError(this.#limit)
    this.#fail(err)
    controller.abort(err)
  }

  #fail (err: Error): void {
    if (this.#error) return
    this.#error = err
    this.#chunks = []
    if (!this.#started) {
      this.#reject(err)
      return
    }
    this.#reader?.reject(err)
    this.#reader = undefined
    if (this.#stream && !this.#stream.destroyed) this.#stream.destroy(err)
  }
}

/** A `Pool.request` answer as a PooledResponse (the GET event stream, DELETE): no cap. */
class RequestedBody implements BodySource {
  readonly #body: Dispatcher.ResponseData['body']
  constructor (body: Dispatcher.ResponseData['body']) {
    this.#body = body
  }

  stream (): Readable {
    return this.#body
  }

  read (): Promise<Buffer> {
    const body = this.#body
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      body.on('data', (chunk: Buffer) => {
        size += chunk.length
        chunks.push(chunk)
      })
      body.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
      body.once('error', reject)
    })
  }
}

/** Request headers as undici's flat [name, value, …] list. */
function flatHeaders (headers: RequestInit['headers']): string[] {
  const out: string[] = []
  if (headers === undefined) return out
  if (headers instanceof Headers) {
    headers.forEach((value, name) => { out.push(name, value) })
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers) out.push(name!.toLowerCase(), value!)
  } else {
    for (const name of Object.keys(headers)) {
      const value = (headers as Record<string, string | undefined>)[name]
      if (value !== undefined) out.push(name.toLowerCase(), value)
    }
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
  const limit = options.maxBodyBytes ?? Infinity
  const fetch: FetchLike = async (input, init = {}) => {
    const url = typeof input === 'string' ? new URL(input) : input
    if (url.origin !== origin) throw new TypeError(`pooled fetch for ${origin} cannot reach another origin`)
    const body = init.body
    if (body !== undefined && body !== null && typeof body !== 'string') throw new TypeError('pooled fetch sends string bodies only')
    const method = (init.method ?? 'GET') as Dispatcher.HttpMethod
    const path = url.pathname + url.search
    const headers = flatHeaders(init.headers)
    if (method === 'POST') {
      const exchange = new Exchange(url.href, limit)
      pool.dispatch({ origin, path, method, headers, body: body ?? null }, exchange)
      return await exchange.response as unknown as Response
    }
    const data = await pool.request({ origin, path, method, headers, body: body ?? null })
    return new PooledResponse(url.href, data.statusCode, data.headers, new RequestedBody(data.body)) as unknown as Response
  }
  return { fetch, close: async () => { await pool.destroy().catch(noop) } }
}

