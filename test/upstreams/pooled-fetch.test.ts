// The pooled fetch under the Streamable HTTP transport, against a real HTTP server on loopback:
// JSON and SSE answers to POSTs, the size cap (declared and counted, JSON and stream), a cancelled
// stream, error statuses, the GET path, refused origins and connections. After every failure the
// same pool still serves the next request.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { UpstreamResponseTooLargeError } from '../../src/upstreams/errors.ts'
import { createPooledFetch } from '../../src/upstreams/pooled-fetch.ts'

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

async function startServer (t: Test, handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const ROUTES: Record<string, Handler> = {
  '/json': (req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'abc' }).end(JSON.stringify({ got: body, header: req.headers['x-test'] ?? null }))
  },
  '/big-declared': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' }).end('"' + 'x'.repeat(4998) + '"')
  },
  '/big-chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('"' + 'x'.repeat(600))
    setTimeout(() => res.end('x'.repeat(600) + '"'), 20)
  },
  '/sse': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: one\n\n')
    setTimeout(() => { res.write('data: two\n\n'); res.end('data: three\n\n') }, 20)
  },
  '/sse-big': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`data: ${'x'.repeat(600)}\n\n`)
    setTimeout(() => res.write(`data: ${'y'.repeat(600)}\n\n`), 20)
  },
  '/sse-endless': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: first\n\n')
    const timer = setInterval(() => res.write('data: more\n\n'), 5)
    res.on('close', () => clearInterval(timer))
  },
  '/status-500': (_req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' }).end('broken')
  },
  '/accepted': (_req, res) => {
    res.writeHead(202).end()
  },
  '/reset': (req) => {
    req.socket.destroy()
  }
}

async function readAll (stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = ''
  const decoder = new TextDecoder()
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true })
  return text
}

t.test('POST answers: JSON, SSE, statuses, the cap; the pool keeps serving', async t => {
  const origin = await startServer(t, (req, res, body) => {
    const route = ROUTES[new URL(req.url!, 'http://x').pathname]
    if (route) route(req, res, body)
    else res.writeHead(404).end()
  })
  const pooled = createPooledFetch(origin, { maxBodyBytes: 1000 })
  t.teardown(() => pooled.close())
  const post = (path: string, init: RequestInit = {}) => pooled.fetch(new URL(path, origin), { method: 'POST', body: '{"a":1}', ...init })
  const stillServes = async (what: string) => {
    const again = await post('/json')
    t.same(await again.json(), { got: '{"a":1}', header: null }, `${what}: the next request on the pool works`)
  }

  const json = await post('/json', { headers: new Headers({ 'X-Test': 'yes', 'content-type': 'application/json' }) })
  t.equal(json.status, 200)
  t.equal(json.ok, true)
  t.equal(json.headers.get('Mcp-Session-Id'), 'abc', 'headers are read case-insensitively')
  t.equal(json.headers.get('content-type'), 'application/json')
  t.equal(json.headers.has('x-missing'), false)
  t.same(await json.json(), { got: '{"a":1}', header: 'yes' }, 'the body went out and the answer came back, with a Headers object')
  await t.rejects(json.text(), TypeError, 'a body is read once')

  const plain = await post('/json', { headers: { 'X-Test': 'plain' } })
  t.same(JSON.parse(await plain.text()), { got: '{"a":1}', header: 'plain' }, 'headers as a record')

  const declared = await post('/big-declared')
  t.equal(declared.status, 200, 'the headers of an answer over the cap still arrive')
  await t.rejects(declared.json(), UpstreamResponseTooLargeError, 'a declared length over the cap fails the read')
  await stillServes('after a declared-too-large answer')

  const counted = await post('/big-chunked')
  await t.rejects(counted.text(), UpstreamResponseTooLargeError, 'a chunked answer over the cap fails the read')
  await stillServes('after a counted-too-large answer')

  const sse = await post('/sse')
  t.equal(sse.headers.get('content-type'), 'text/event-stream')
  t.equal(await readAll(sse.body!), 'data: one\n\ndata: two\n\ndata: three\n\n', 'an SSE answer streams, with the chunks received before the stream was asked for')

  const sseBig = await post('/sse-big')
  await t.rejects(readAll(sseBig.body!), UpstreamResponseTooLargeError, 'an SSE answer over the cap fails the stream')
  await stillServes('after a too-large SSE answer')

  const endless = await post('/sse-endless')
  const reader = endless.body!.getReader()
  const first = await reader.read()
  t.match(new TextDecoder().decode(first.value), /^data: first/, 'the first event of an endless stream')
  await reader.cancel()
  await stillServes('after a cancelled stream')

  const failed = await post('/status-500')
  t.equal(failed.status, 500)
  t.equal(failed.ok, false)
  t.equal(await failed.text(), 'broken', 'an error status and its body')

  const accepted = await post('/accepted')
  t.equal(accepted.status, 202)
  await accepted.body?.cancel()
  await stillServes('after a cancelled empty body')

  await t.rejects(post('/reset'), /other side closed|socket|reset/i, 'a dropped connection fails the request')
  await stillServes('after a dropped connection')
})

t.test('GET answers are streamed without a cap; other origins and non-string bodies are refused', async t => {
  const origin = await startServer(t, (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(`data: ${'z'.repeat(3000)}\n\n`)
    } else {
      res.writeHead(405).end()
    }
  })
  const pooled = createPooledFetch(origin, { maxBodyBytes: 1000 })
  t.teardown(() => pooled.close())
  const get = await pooled.fetch(origin + '/stream', { headers: { accept: 'text/event-stream' } })
  t.equal(get.status, 200)
  t.equal((await readAll(get.body!)).length, 3008, 'the GET event stream is not capped')
  const deleted = await pooled.fetch(origin + '/', { method: 'DELETE' })
  t.equal(deleted.status, 405)
  t.equal(await deleted.text(), '')
  await t.rejects(pooled.fetch('http://127.0.0.1:1/x', { method: 'POST', body: '{}' }), TypeError, 'another origin is refused')
  await t.rejects(pooled.fetch(origin + '/', { method: 'POST', body: new Uint8Array(2) }), TypeError, 'only string bodies')
})

t.test('a refused connection rejects with its code; a closed pool refuses', async t => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await new Promise<void>(resolve => server.close(() => resolve()))
  const pooled = createPooledFetch(origin)
  const refused = await pooled.fetch(origin + '/mcp', { method: 'POST', body: '{}' }).then(() => undefined, (err: { code?: string }) => err)
  t.equal(refused?.code, 'ECONNREFUSED')
  await pooled.close()
  await t.rejects(pooled.fetch(origin + '/mcp', { method: 'POST', body: '{}' }), /destroyed|closed/i)
})
