// Where tool arguments go upstream and how they are encoded, asserted on the raw request line the
// mock upstream received: path segments, query strings, headers, JSON bodies, `in`/`name`
// overrides, and that no path argument can change the host or leave its segment.
import t from 'tap'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { startMockUpstream, type MockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

interface Result {
  content: Array<{ type: string, text?: string }>
  isError?: boolean
}

const string = { type: 'string' }

// value → how it must appear in the request line (RFC 3986 percent-encoding, UTF-8).
const ENCODED: Array<[string, string]> = [
  ['hello world', 'hello%20world'],
  ['a/b', 'a%2Fb'],
  ['naïve ☃', 'na%C3%AFve%20%E2%98%83'],
  ['emoji 😀', 'emoji%20%F0%9F%98%80'],
  ['what?', 'what%3F'],
  ['#frag', '%23frag'],
  ['a&b=c', 'a%26b%3Dc'],
  ['100%', '100%25'],
  ['a+b', 'a%2Bb'],
  ['../', '..%2F'],
  ['../../admin', '..%2F..%2Fadmin'],
  ['%2e%2e', '%252e%252e'],
  ['...', '...'],
  ['//evil.example/x', '%2F%2Fevil.example%2Fx'],
  ['http://evil.example', 'http%3A%2F%2Fevil.example'],
  ['\\..\\', '%5C..%5C']
]

let upstream: MockUpstream
let evil: MockUpstream
let client: Client
const call = async (name: string, args: Record<string, unknown>) => await client.callTool({ name, arguments: args }) as Result
const text = (result: Result) => result.content[0]?.text ?? ''

t.before(async () => {
  upstream = await startMockUpstream()
  evil = await startMockUpstream()
  const gw = await startTestGateway(t)
  const applied = await gw.applyConfig({
    providers: [
      { name: 'mock', baseUrl: upstream.url, headers: { 'X-Provider': 'p' } },
      { name: 'prefixed', baseUrl: `${upstream.url}/echo/base/` }
    ],
    servers: [{
      name: 'mapping',
      tools: [
        {
          name: 'item', provider: 'mock', method: 'GET', path: '/echo/items/{item}/detail',
          input: { type: 'object', properties: { item: string, q: string, tags: { type: 'array', items: string }, n: { type: 'number' }, flag: { type: 'boolean' }, filter: { type: 'object' } }, required: ['item'] }
        },
        {
          name: 'file', provider: 'mock', method: 'GET', path: '/echo/files/{dir}/{name}.json',
          input: { type: 'object', properties: { dir: string, name: string }, required: ['dir', 'name'] }
        },
        { name: 'search', provider: 'mock', method: 'GET', path: '/echo/search?fixed=1', input: { type: 'object', properties: { q: string } } },
        { name: 'prefixed', provider: 'prefixed', method: 'GET', path: '/v1/{x}', input: { type: 'object', properties: { x: string }, required: ['x'] } },
        {
          name: 'headers', provider: 'mock', method: 'GET', path: '/echo/headers', headers: { 'X-Static': 'yes' },
          input: { type: 'object', properties: { token: string, id: { type: 'integer' } } },
          parameters: { token: { in: 'header', name: 'X-Token' }, id: { in: 'header', name: 'X-Request-Id' } }
        },
        {
          name: 'create', provider: 'mock', method: 'POST', path: '/echo/things/{id}',
          input: {
            type: 'object',
            properties: { id: string, name: string, count: { type: 'integer' }, meta: { type: 'object' }, dry: { type: 'boolean' }, renamed: string, trace: string },
            required: ['id']
          },
          parameters: { dry: { in: 'query', name: 'dry_run' }, renamed: { name: 'realName' }, trace: { in: 'header', name: 'X-Trace' } }
        },
        {
          name: 'remove', provider: 'mock', method: 'DELETE', path: '/echo/things/{id}',
          input: { type: 'object', properties: { id: string, reason: string }, required: ['id'] }
        }
      ]
    }]
  })
  if (applied.status !== 200) throw new Error(`config not applied: ${await applied.text()}`)
  client = await gw.connect('mapping', await gw.createKey())
})
t.teardown(async () => {
  await upstream.close()
  await evil.close()
})

/** Calls a tool and returns the request the upstream recorded for it. */
async function upstreamRequest (name: string, args: Record<string, unknown>) {
  const before = upstream.requests.length
  const result = await call(name, args)
  if (result.isError) throw new Error(`${name} failed: ${text(result)}`)
  if (upstream.requests.length !== before + 1) throw new Error(`expected one upstream request, got ${upstream.requests.length - before}`)
  return upstream.requests.at(-1)!
}

t.test('path values are percent-encoded into exactly their own segment', async t => {
  for (const [value, encoded] of ENCODED) {
    const request = await upstreamRequest('item', { item: value })
    t.equal(request.url, `/echo/items/${encoded}/detail`, `path value ${JSON.stringify(value)}`)
    const segment = request.url.split('/')[3]!
    t.equal(decodeURIComponent(segment), value, 'decodes back to the argument')
    t.equal(request.headers.host, `127.0.0.1:${upstream.port}`, 'the host never changes')
  }
  t.equal(evil.requests.length, 0)
})

t.test('query values are percent-encoded and round-trip', async t => {
  for (const [value, encoded] of ENCODED) {
    const request = await upstreamRequest('item', { item: 'x', q: value })
    t.equal(request.url, `/echo/items/x/detail?q=${encoded}`, `query value ${JSON.stringify(value)}`)
    t.equal(new URL(request.url, 'http://upstream').searchParams.get('q'), value, 'decodes back to the argument')
  }
})

t.test('arrays repeat the key; numbers, booleans and objects are serialised', async t => {
  const request = await upstreamRequest('item', { item: 'x', tags: ['a b', 'c&d'], n: 1.5, flag: false, filter: { a: 1 } })
  t.equal(request.url, '/echo/items/x/detail?tags=a%20b&tags=c%26d&n=1.5&flag=false&filter=%7B%22a%22%3A1%7D')
})

t.test('several path parameters, literal suffixes, fixed query strings and base paths', async t => {
  t.equal((await upstreamRequest('file', { dir: 'a b', name: 'r&d' })).url, '/echo/files/a%20b/r%26d.json')
  t.equal((await upstreamRequest('file', { dir: '..', name: '.' }).catch((err: Error) => err.message)), 'file failed: Invalid arguments for tool file: dir: ".." is not allowed as a path segment')
  t.equal((await upstreamRequest('search', { q: 'x y' })).url, '/echo/search?fixed=1&q=x%20y')
  t.equal((await upstreamRequest('search', {})).url, '/echo/search?fixed=1', 'an absent optional argument is left out')
  t.equal((await upstreamRequest('prefixed', { x: 'a/b' })).url, '/echo/base/v1/a%2Fb', 'the provider base path stays in front')
})

t.test('dot segments and empty values are rejected before anything goes upstream', async t => {
  const before = upstream.requests.length
  for (const value of ['..', '.', '']) {
    const result = await call('item', { item: value })
    t.equal(result.isError, true, `${JSON.stringify(value)} is rejected`)
    t.equal(text(result), `Invalid arguments for tool item: item: "${value}" is not allowed as a path segment`)
  }
  t.equal(upstream.requests.length, before, 'nothing reached the upstream')
})

t.test('a string that is not valid Unicode is the caller\'s error, not an internal one', async t => {
  const before = upstream.requests.length
  const path = await call('item', { item: 'bad\uD800' })
  t.equal(path.isError, true)
  t.equal(text(path), 'Invalid arguments for tool item: item: is not well-formed Unicode (lone surrogate)')
  const query = await call('item', { item: 'x', tags: ['ok', '\uDFFFbad'] })
  t.equal(query.isError, true)
  t.equal(text(query), 'Invalid arguments for tool item: tags: is not well-formed Unicode (lone surrogate)')
  t.equal(upstream.requests.length, before, 'nothing reached the upstream')
})

t.test('no path value reaches another host', async t => {
  const other = `127.0.0.1:${evil.port}`
  for (const value of [`//${other}/x`, `http://${other}/x`, `@${other}`, `..//${other}`, `x@${other}`]) {
    const request = await upstreamRequest('prefixed', { x: value })
    t.equal(request.headers.host, `127.0.0.1:${upstream.port}`)
    t.ok(request.url.startsWith('/echo/base/v1/') && !request.url.slice('/echo/base/v1/'.length).includes('/'), `${value} stays one segment: ${request.url}`)
  }
  t.equal(evil.requests.length, 0, 'the other host saw nothing')
})

t.test('header parameters: renamed, merged with static headers, line breaks rejected', async t => {
  const request = await upstreamRequest('headers', { token: 'secret-ü', id: 42 })
  t.equal(request.headers['x-token'], 'secret-ü', 'Latin-1 passes through')
  t.equal(request.headers['x-request-id'], '42')
  t.equal(request.headers['x-static'], 'yes', 'tool header')
  t.equal(request.headers['x-provider'], 'p', 'provider header')
  t.equal(request.url, '/echo/headers', 'header arguments stay out of the query')

  const before = upstream.requests.length
  for (const token of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'nul\u0000byte']) {
    const result = await call('headers', { token })
    t.equal(result.isError, true, `${JSON.stringify(token)} is rejected`)
    t.equal(text(result), 'Invalid arguments for tool headers: token: header values cannot contain line breaks')
  }
  const euro = await call('headers', { token: 'price €5' })
  t.equal(euro.isError, true, 'a character HTTP headers cannot carry is the caller\'s error')
  t.match(text(euro), /^Invalid arguments for tool headers: token: /)
  t.equal(upstream.requests.length, before, 'nothing reached the upstream')
})

t.test('POST maps the other arguments to a JSON body, with in/name overrides', async t => {
  const request = await upstreamRequest('create', {
    id: 'a/1', name: 'Widget', count: 3, meta: { nested: [1, 'two'] }, dry: true, renamed: 'R', trace: 't-1'
  })
  t.equal(request.method, 'POST')
  t.equal(request.url, '/echo/things/a%2F1?dry_run=true')
  t.equal(request.headers['content-type'], 'application/json')
  t.equal(request.headers['x-trace'], 't-1')
  t.same(JSON.parse(request.body), { name: 'Widget', count: 3, meta: { nested: [1, 'two'] }, realName: 'R' })

  const minimal = await upstreamRequest('create', { id: 'b' })
  t.equal(minimal.url, '/echo/things/b')
  t.same(JSON.parse(minimal.body), {}, 'a POST always carries a JSON object')
})

t.test('DELETE puts its arguments in the query and sends no body', async t => {
  const request = await upstreamRequest('remove', { id: 'x y', reason: 'done & dusted' })
  t.equal(request.method, 'DELETE')
  t.equal(request.url, '/echo/things/x%20y?reason=done%20%26%20dusted')
  t.equal(request.body, '')
})
