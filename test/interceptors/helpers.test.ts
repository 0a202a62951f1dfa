// The web helpers inside the sandbox, compared with Node's own implementations; and the dry-run tester.
import t from 'tap'
import { DEFAULT_INTERCEPTOR_LIMITS, InterceptorRuntime, JsonPayload, testInterceptor } from '../../src/interceptors/index.ts'

const ctx = { server: 's', tool: 't', arguments: {}, endUserId: null }
const runtime = new InterceptorRuntime({ warm: false })
t.teardown(() => runtime.close())
const inSandbox = async (code: string, input: unknown): Promise<unknown> =>
  (await runtime.chain([{ label: 'helpers', engine: 'js', phase: 'response', code, limits: { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: 2000 } }]).run(JsonPayload.ofValue(input), ctx)).value()

const URLS: Array<[string, string?]> = [
  ['https://api.github.com/users/octo/repos?per_page=100&page=2#top'],
  ['http://user:pa ss@Example.COM:80/a/./b/../c/%7Efoo?q=a b&x=\'1\'#frag ment'],
  ['HTTPS://example.com:443'],
  ['https://example.com:8443/path with space/ü?ä=ö'],
  ['http://127.1/'], ['http://0x7f.0.0.1:8080/x'], ['http://[::1]:3000/p'],
  ['/v1/items?limit=10', 'https://api.example.com/base/path'],
  ['../up?x=1', 'https://api.example.com/a/b/c'],
  ['?only=query', 'https://api.example.com/a/b?old=1#h'],
  ['#newhash', 'https://api.example.com/a/b?old=1#h'],
  ['//cdn.example.com/lib.js', 'https://api.example.com/'],
  ['http:\\\\example.com\\a\\b'],
  ['  https://example.com/trim\t  '],
  ['mailto:someone@example.com?subject=Hi'],
  ['urn:isbn:0451450523'],
  ['file:///etc/hosts'],
  ['ws://socket.example.com/chat'],
  ['https://example.com/a%2fb/%2e%2e/c'],
  ['https://example.com/^{}`|"<>'],
  ['https://example.com/?q=^{}`\'"<>#f^{}`\'"<>']
]
const INVALID = ['not a url', 'https://', 'http://exa mple.com/', 'https://example.com:99999/', 'https://ex%00ample.com/', '//no-base']

t.test('URL agrees with Node on ordinary URLs', async t => {
  const fields = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const
  const code = `(list) => list.map(([u, b]) => { const x = new URL(u, b); return [${fields.map(f => `x.${f}`).join(', ')}] })`
  const got = await inSandbox(code, URLS)
  const want = URLS.map(([u, b]) => { const x = new URL(u, b); return fields.map(f => x[f]) })
  t.same(got, want)
  const invalid = await inSandbox('(list) => list.map((u) => URL.canParse(u))', INVALID)
  t.same(invalid, INVALID.map(u => URL.canParse(u)))
})

t.test('URLSearchParams agrees with Node', async t => {
  const code = `() => {
    const p = new URLSearchParams('?a=1&b=x+y&a=2&c=%C3%A9&d&e=%zz')
    const out = [p.get('a'), p.getAll('a'), p.get('b'), p.get('c'), p.get('d'), p.get('e'), p.has('zz'), p.size, p.toString()]
    p.append('f', 'a b&c=d/é'); p.set('a', '3'); p.delete('b'); p.sort()
    out.push(p.toString(), [...p.keys()], [...p.entries()])
    out.push(new URLSearchParams({ x: '1', y: 'two words' }).toString(), new URLSearchParams([['k', 'v'], ['k', 'w']]).toString())
    const u = new URL('https://api.example.com/s?q=old')
    u.searchParams.set('q', 'new value'); u.searchParams.append('page', '2')
    out.push(u.href, u.search)
    u.search = '?z=1'
    out.push(u.searchParams.get('z'), u.href)
    u.hash = 'x y'; u.pathname = '/a b'; u.port = '8080'; u.hostname = 'other.example.com'
    out.push(u.href, JSON.stringify({ u }))
    return out
  }`
  const p = new URLSearchParams('?a=1&b=x+y&a=2&c=%C3%A9&d&e=%zz')
  const want: unknown[] = [p.get('a'), p.getAll('a'), p.get('b'), p.get('c'), p.get('d'), p.get('e'), p.has('zz'), p.size, p.toString()]
  p.append('f', 'a b&c=d/é'); p.set('a', '3'); p.delete('b'); p.sort()
  want.push(p.toString(), [...p.keys()], [...p.entries()])
  want.push(new URLSearchParams({ x: '1', y: 'two words' }).toString(), new URLSearchParams([['k', 'v'], ['k', 'w']]).toString())
  const u = new URL('https://api.example.com/s?q=old')
  u.searchParams.set('q', 'new value'); u.searchParams.append('page', '2')
  want.push(u.href, u.search)
  u.search = '?z=1'
  want.push(u.searchParams.get('z'), u.href)
  u.hash = 'x y'; u.pathname = '/a b'; u.port = '8080'; u.hostname = 'other.example.com'
  want.push(u.href, JSON.stringify({ u }))
  t.same(await inSandbox(code, null), want)
})

t.test('TextEncoder / TextDecoder agree with Node (UTF-8, replacement, fatal, stream, BOM)', async t => {
  const strings = ['', 'ascii', 'é ü ß', '€ 𝄞 😀', 'lone \uD800 surrogate', '\uDC00 low first']
  const byteSeqs = [[0xE2, 0x82, 0xAC], [0xC3], [0xF0, 0x9F, 0x98], [0xFF, 0x41], [0xED, 0xA0, 0x80], [0xEF, 0xBB, 0xBF, 0x41], [0xC0, 0xAF], [0xE0, 0x80, 0x80, 0x41]]
  const code = `({ strings, byteSeqs }) => ({
    enc: strings.map((s) => Array.from(new TextEncoder().encode(s))),
    dec: byteSeqs.map((b) => new TextDecoder().decode(new Uint8Array(b))),
    fatal: byteSeqs.map((b) => { try { return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(b)) } catch (e) { return e.name } }),
    bom: new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41])),
    stream: (() => { const d = new TextDecoder(); return d.decode(new Uint8Array([0xE2, 0x82]), { stream: true }) + '|' + d.decode(new Uint8Array([0xAC])) })(),
    into: (() => { const buf = new Uint8Array(5); const r = new TextEncoder().encodeInto('a€b', buf); return [r.read, r.written, Array.from(buf)] })()
  })`
  const got = await inSandbox(code, { strings, byteSeqs })
  const want = {
    enc: strings.map(s => Array.from(new TextEncoder().encode(s))),
    dec: byteSeqs.map(b => new TextDecoder().decode(new Uint8Array(b))),
    fatal: byteSeqs.map(b => { try { return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(b)) } catch (e) { return (e as Error).name } }),
    bom: new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41])),
    stream: (() => { const d = new TextDecoder(); return d.decode(new Uint8Array([0xE2, 0x82]), { stream: true }) + '|' + d.decode(new Uint8Array([0xAC])) })(),
    into: (() => { const buf = new Uint8Array(5); const r = new TextEncoder().encodeInto('a€b', buf); return [r.read, r.written, Array.from(buf)] })()
  }
  t.same(got, want)
})

t.test('atob / btoa agree with Node', async t => {
  const plain = ['', 'a', 'ab', 'abc', 'hello world', '\u00ff\u0000\u0080']
  const encoded = ['', 'YQ==', 'YWI', ' YW Jj ', 'aGVsbG8gd29ybGQ=', 'a', '!!!!', 'YQ=']
  const code = `({ plain, encoded }) => [plain.map((s) => btoa(s)), encoded.map((s) => { try { return atob(s) } catch (e) { return e.name } }), (() => { try { return btoa('€') } catch (e) { return e.name } })()]`
  const want = [plain.map(s => btoa(s)), encoded.map(s => { try { return atob(s) } catch (e) { return (e as Error).name } }), (() => { try { return btoa('€') } catch (e) { return (e as Error).name } })()]
  t.same(await inSandbox(code, { plain, encoded }), want)
})

t.test('structuredClone: types, cycles, refusals', async t => {
  const code = `() => {
    const src = { d: new Date(0), r: /a+/gi, m: new Map([[1, { x: 1 }]]), s: new Set(['a']), u8: new Uint8Array([1, 2, 3]), arr: [1, , 3], e: new RangeError('bad') }
    src.self = src
    const c = structuredClone(src)
    let refused = []
    for (const v of [() => 1, Symbol('s'), { f () {} }]) { try { structuredClone(v); refused.push('cloned') } catch (e) { refused.push(e.name) } }
    return {
      distinct: c !== src && c.m !== src.m && c.u8 !== src.u8,
      cycle: c.self === c,
      date: c.d instanceof Date && c.d.getTime() === 0,
      re: c.r instanceof RegExp && c.r.source === 'a+' && c.r.flags === 'gi',
      map: c.m.get(1).x, set: [...c.s], u8: Array.from(c.u8), holes: 1 in c.arr, len: c.arr.length,
      err: c.e instanceof RangeError && c.e.message === 'bad',
      refused
    }
  }`
  t.same(await inSandbox(code, null), { distinct: true, cycle: true, date: true, re: true, map: 1, set: ['a'], u8: [1, 2, 3], holes: false, len: 3, err: true, refused: ['DataCloneError', 'DataCloneError', 'DataCloneError'] })
})

t.test('frozen intrinsics still let ordinary code assign own properties named like builtins', async t => {
  const code = `(input) => {
    const out = {}
    for (const k of input.keys) out[k] = k.length
    class MyError extends Error { constructor (m) { super(m); this.name = 'MyError' } }
    return { out, err: String(new MyError('m')), frozen: Object.isFrozen(Object.prototype) && Object.isFrozen(Array.prototype) && Object.isFrozen(globalThis) }
  }`
  t.same(await inSandbox(code, { keys: ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'name'] }),
    { out: { constructor: 11, toString: 8, valueOf: 7, hasOwnProperty: 14, name: 4 }, err: 'MyError: m', frozen: true })
})

t.test('the dry-run tester: output, bytes, time; errors with position; nothing left alive', async t => {
  const before = runtime.stats().isolates
  const registered = runtime.stats().interceptors
  const ok = await testInterceptor(runtime, { engine: 'js', phase: 'response', code: '(input, ctx) => ({ names: input.items.map((i) => i.name), tool: ctx.tool })', input: { items: [{ name: 'a', junk: 'x'.repeat(100) }] }, ctx: { tool: 'list' } })
  t.same(ok.output, { names: ['a'], tool: 'list' })
  t.equal(ok.ok, true)
  t.equal(ok.bytesBefore, Buffer.byteLength(JSON.stringify({ items: [{ name: 'a', junk: 'x'.repeat(100) }] })))
  t.equal(ok.bytesAfter, Buffer.byteLength('{"names":["a"],"tool":"list"}'))
  t.ok(ok.durationMs > 0)
  const bad = await testInterceptor(runtime, { engine: 'js', phase: 'response', code: '(input) => {\n  return input.a.b\n}', input: {} })
  t.equal(bad.ok, false)
  t.match(bad.error, { kind: 'runtime', line: 2, column: 18, message: /threw at line 2, column 18: TypeError/ })
  const syntax = await testInterceptor(runtime, { engine: 'jmespath', phase: 'response', code: 'a.[', input: {} })
  t.match(syntax.error, { kind: 'syntax', line: 1, column: 4 })
  const slow = await testInterceptor(runtime, { engine: 'js', phase: 'response', code: '() => { for (;;) {} }', input: {}, limits: { timeoutMs: 30 } })
  t.match(slow.error, { kind: 'timeout', message: /timed out after 30 ms/ })
  const jp = await testInterceptor(runtime, { engine: 'jmespath', phase: 'request', code: '{q: query, n: `5`}', input: { query: 'x', other: 1 } })
  t.same(jp.output, { q: 'x', n: 5 })
  for (let i = 0; i < 20 && runtime.stats().isolates > before; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(runtime.stats().isolates, before, 'the tester\'s isolates are disposed')
  t.equal(runtime.stats().interceptors, registered, 'registry untouched by the tester')
})
