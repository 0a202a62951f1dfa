// The forwarder adds the API key and otherwise passes requests through as sent, Host and Origin
// included, and streams responses.
import t from 'tap'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startAuthForwarder } from './auth-forwarder.ts'

t.test('adds Authorization, keeps Host, Origin, method, path and body', async t => {
  const seen: Array<{ method?: string, url?: string, headers: Record<string, unknown>, body: string }> = []
  const upstream = createServer((req, res) => {
    let body = ''
    req.on('data', chunk => { body += chunk })
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body })
      res.writeHead(201, { 'content-type': 'text/event-stream', 'mcp-session-id': 's1' })
      res.write('data: one\n\n')
      setTimeout(() => res.end('data: two\n\n'), 20)
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => upstream.close(() => resolve())))
  const forwarder = await startAuthForwarder()
  t.teardown(() => forwarder.close())
  forwarder.route(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, 'tg_secret')

  const { status, headers, text } = await new Promise<{ status?: number, headers: Record<string, unknown>, text: string }>((resolve, reject) => {
    const req = request(`${forwarder.origin}/mcp/x?q=1`, {
      method: 'POST',
      headers: { host: 'evil.example.com', origin: 'http://evil.example.com', 'content-type': 'application/json' }
    }, res => {
      let text = ''
      res.on('data', chunk => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end('{"jsonrpc":"2.0"}')
  })
  t.equal(status, 201)
  t.equal(headers['mcp-session-id'], 's1')
  t.equal(text, 'data: one\n\ndata: two\n\n')
  t.equal(seen.length, 1)
  t.equal(seen[0]!.method, 'POST')
  t.equal(seen[0]!.url, '/mcp/x?q=1')
  t.equal(seen[0]!.body, '{"jsonrpc":"2.0"}')
  t.equal(seen[0]!.headers.authorization, 'Bearer tg_secret')
  t.equal(seen[0]!.headers.host, 'evil.example.com')
  t.equal(seen[0]!.headers.origin, 'http://evil.example.com')
})
