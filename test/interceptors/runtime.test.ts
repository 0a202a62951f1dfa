// Both engines through the real runtime (real isolated-vm, no mocks).
import t from 'tap'
import { DEFAULT_INTERCEPTOR_LIMITS, InterceptorFailure, InterceptorRuntime, JsonPayload, checkInterceptorSource } from '../../src/interceptors/index.ts'
import type { InterceptorContext, InterceptorSource } from '../../src/interceptors/index.ts'

const ctx: InterceptorContext = { server: 'github', tool: 'list_repos', arguments: { username: 'octo' }, status: 200, headers: { 'content-type': 'application/json' }, endUserId: 'eu-1' }
let n = 0
const js = (code: string, more: Partial<InterceptorSource> = {}): InterceptorSource =>
  ({ label: `servers[0].tools[0].response[${n++}]`, engine: 'js', phase: 'response', code, limits: DEFAULT_INTERCEPTOR_LIMITS, ...more })
const jp = (code: string, more: Partial<InterceptorSource> = {}): InterceptorSource => js(code, { engine: 'jmespath', ...more })
const repos = { items: [{ name: 'a', stargazers_count: 3, private: false }, { name: 'b', stargazers_count: 5, private: true }] }

async function failure (p: Promise<unknown>): Promise<InterceptorFailure> {
  try { await p } catch (err) { if (err instanceof InterceptorFailure) return err; throw err }
  throw new Error('expected a failure')
}

t.test('JMESPath and JS transforms, chained across engines, ctx inside', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const chain = runtime.chain([
    jp('items[?!private].{name: name, stars: stargazers_count}'),
    js('(input, ctx) => ({ repos: input, tool: ctx.tool, server: ctx.server, user: ctx.endUserId, status: ctx.status, type: ctx.headers["content-type"], args: ctx.arguments, frozen: Object.isFrozen(ctx) && Object.isFrozen(ctx.headers) && Object.isFrozen(ctx.arguments) })'),
    jp('{names: repos[].name, tool: tool, user: user, status: status, type: type, who: args.username, frozen: frozen}')
  ])
  t.equal(chain.length, 3)
  const out = await chain.run(JsonPayload.ofValue(repos), ctx)
  t.same(out.value(), { names: ['a'], tool: 'list_repos', user: 'eu-1', status: 200, type: 'application/json', who: 'octo', frozen: true })
})

t.test('an async interceptor is awaited; a JS output is text used as is', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const out = await runtime.chain([js('async (input) => { const x = await Promise.resolve(input.n); return { doubled: x * 2 } }')]).run(JsonPayload.ofText('{"n": 21}'), ctx)
  t.ok(out.hasText, 'the output arrives as JSON text')
  t.notOk(out.hasValue, 'the host has not parsed it')
  t.equal(out.text(), '{"doubled":42}')
})

t.test('payload conversions are done once: counted on the host', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const chain = runtime.chain([js('(input) => input.items'), jp('[].name'), js('(names) => names.join(",")')])
  await chain.run(JsonPayload.ofValue(repos), ctx) // warm the isolates
  const realParse = JSON.parse
  const realStringify = JSON.stringify
  let parses = 0
  let stringifies = 0
  JSON.parse = ((...args: Parameters<typeof JSON.parse>) => { parses++; return realParse(...args) }) as typeof JSON.parse
  JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => { stringifies++; return realStringify(...args) }) as typeof JSON.stringify
  let out: JsonPayload
  try {
    const input = JsonPayload.ofText(realStringify(repos))
    const callCtx = { ...ctx }
    out = await chain.run(input, callCtx)
    t.notOk(input.hasValue, 'the upstream text went into the JS isolate unparsed by the host')
    t.equal(out.text(), '"a,b"')
    out.text()
    out.value()
    out.value()
  } finally {
    JSON.parse = realParse
    JSON.stringify = realStringify
  }
  // Host work: JMESPath needs the first JS output parsed (1 parse); the second JS needs JMESPath's output
  // as text (1 stringify) and the ctx as text (1 stringify, shared by both JS runs); out.value() (1 parse, memoized).
  t.equal(parses, 2, 'two parses on the host')
  t.equal(stringifies, 2, 'two stringifies on the host')
})

t.test('request phase: the output must be an object', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const ok = await runtime.chain([js('(args) => ({ ...args, per_page: 100 })', { phase: 'request' })]).run(JsonPayload.ofValue({ username: 'octo' }), ctx)
  t.same(ok.value(), { username: 'octo', per_page: 100 })
  for (const [code, got] of [['() => [1]', 'array'], ['() => null', 'null'], ['() => "x"', 'string'], ['() => 3', 'number']] as const) {
    const err = await failure(runtime.chain([js(code, { phase: 'request', name: 'req' })]).run(JsonPayload.ofValue({}), ctx))
    t.equal(err.kind, 'bad_output')
    t.match(err.message, `Interceptor "req" (servers[0].tools[0].response[`)
    t.match(err.message, `request interceptors must return an object (the new arguments), got ${got}`)
  }
  const jerr = await failure(runtime.chain([jp('username', { phase: 'request' })]).run(JsonPayload.ofValue({ username: 'x' }), ctx))
  t.equal(jerr.kind, 'bad_output')
  t.match(jerr.message, 'got string')
  const jok = await runtime.chain([jp('{user: username}', { phase: 'request' })]).run(JsonPayload.ofValue({ username: 'x' }), ctx)
  t.same(jok.value(), { user: 'x' })
})

t.test('output cap, counted in UTF-8 bytes of the JSON text', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const limits = { ...DEFAULT_INTERCEPTOR_LIMITS, maxOutputBytes: 10 }
  const fits = await runtime.chain([js('() => "éééé"', { limits })]).run(JsonPayload.ofValue(null), ctx)
  t.equal(fits.byteLength(), 10, '4 two-byte chars and 2 quotes fit exactly')
  const err = await failure(runtime.chain([js('() => "ééééé"', { limits, name: 'cap' })]).run(JsonPayload.ofValue(null), ctx))
  t.equal(err.kind, 'output_too_large')
  t.match(err.message, 'Interceptor "cap" (')
  t.match(err.message, 'output is 12 bytes, over its limit of 10 (maxOutputBytes)')
})

t.test('syntax errors: thrown synchronously by chain(), with line and column', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  let err: unknown
  try { runtime.chain([jp('ok'), js('(input) => {\n  return input.x }}', { name: 'broken', label: 'servers[0].tools[1].response[0]' })]) } catch (e) { err = e }
  t.ok(err instanceof InterceptorFailure)
  const f = err as InterceptorFailure
  t.equal(f.kind, 'syntax')
  t.equal(f.line, 2)
  t.equal(f.column, 19)
  t.equal(f.message, `Interceptor "broken" (servers[0].tools[1].response[0]) has a syntax error at line 2, column 19: Unexpected token '}'`)
  let jerr: unknown
  try { runtime.chain([jp('items[].{\n  n: name,,\n}', { label: 'L' })]) } catch (e) { jerr = e }
  t.ok(jerr instanceof InterceptorFailure)
  t.equal((jerr as InterceptorFailure).kind, 'syntax')
  t.equal((jerr as InterceptorFailure).line, 2)
  t.equal((jerr as InterceptorFailure).column, 11)
  t.equal(runtime.stats().failures.syntax, 2)
  t.equal(runtime.stats().interceptors, 1, 'only the good one was compiled')
})

t.test('runtime errors name the line; JMESPath runtime errors are runtime', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const err = await failure(runtime.chain([js('(input) => {\n  const o = input.missing\n  return o.x\n}', { name: 'trim', label: 'servers[0].tools[0].response[0]' })]).run(JsonPayload.ofValue({}), ctx))
  t.equal(err.kind, 'runtime')
  t.equal(err.message, `Interceptor "trim" (servers[0].tools[0].response[0]) threw at line 3, column 12: TypeError: Cannot read properties of undefined (reading 'x')`)
  t.same(err.logFields(), { interceptor: 'trim', label: 'servers[0].tools[0].response[0]', kind: 'runtime', line: 3, column: 12 })
  const jerr = await failure(runtime.chain([jp('length(@)', { label: 'X' })]).run(JsonPayload.ofValue(5), ctx))
  t.equal(jerr.kind, 'runtime')
  t.match(jerr.message, /^Interceptor X failed: Invalid type: length\(\)/)
  const bad = await failure(runtime.chain([jp('a')]).run(JsonPayload.ofText('{not json'), ctx))
  t.equal(bad.kind, 'runtime')
  t.match(bad.message, 'not JSON')
})

t.test('a chain stops at the first failure; an empty chain returns its input', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const input = JsonPayload.ofValue({ a: 1 })
  const empty = runtime.chain([])
  t.equal(empty.length, 0)
  t.equal(await empty.run(input, ctx), input, 'the same payload')
  const chain = runtime.chain([js('() => { throw new Error("first") }', { name: 'one' }), js('() => { throw new Error("second") }', { name: 'two' })])
  const err = await failure(chain.run(input, ctx))
  t.equal(err.interceptor, 'one')
  t.match(err.message, 'Error: first')
})

t.test('warm reuse: consecutive calls are served by the same isolate, none per call', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const chain = runtime.chain([js('(input) => input.n + 1')])
  t.equal(runtime.stats().isolates, 0, 'lazy: nothing built yet (warm: false)')
  for (let i = 0; i < 50; i++) t.equal((await chain.run(JsonPayload.ofValue({ n: i }), ctx)).value(), i + 1)
  t.equal(runtime.stats().isolates, 1, 'one isolate for 50 sequential calls')
  t.equal(runtime.stats().rebuilds, 0)
  await Promise.all(Array.from({ length: 20 }, (_, i) => chain.run(JsonPayload.ofValue({ n: i }), ctx)))
  t.equal(runtime.stats().isolates, 2, 'concurrent calls use isolatesPerInterceptor (2) isolates, not one each')
})

t.test('background warm-up: chain() builds one isolate ahead of the first call', async t => {
  const runtime = new InterceptorRuntime()
  t.teardown(() => runtime.close())
  runtime.chain([js('(x) => x')])
  for (let i = 0; i < 100 && runtime.stats().isolates === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(runtime.stats().isolates, 1)
})

t.test('state after a failure: the next call runs in a clean context', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const chain = runtime.chain([js('(input) => { if (input.fail) throw new Error("x"); return [typeof globalThis.leak, ({}).leak === undefined] }')])
  await failure(chain.run(JsonPayload.ofValue({ fail: true }), ctx))
  t.equal(runtime.stats().rebuilds, 1, 'the failed context is replaced')
  t.same((await chain.run(JsonPayload.ofValue({}), ctx)).value(), ['undefined', true])
})

t.test('identical sources share compiled state and isolates across chains and config versions', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const code = '(input) => input.items.map((i) => i.name)'
  const v1 = runtime.chain([js(code, { name: 'names', label: 'servers[0].tools[0].response[0]' })])
  await v1.run(JsonPayload.ofValue(repos), ctx)
  const v2a = runtime.chain([js(code, { name: 'names', label: 'servers[1].tools[0].response[0]' }), jp('[0]')])
  const v2b = runtime.chain([jp('[0]'), js('(x) => x')])
  t.equal(runtime.stats().interceptors, 3, 'same JS source once, same JMESPath once, plus one other')
  t.same((await v2a.run(JsonPayload.ofValue(repos), ctx)).value(), 'a')
  t.equal(runtime.stats().isolates, 1, 'the second chain used the first chain\'s warm isolate')
  const err = await failure(v2a.run(JsonPayload.ofValue({}), ctx))
  t.match(err.message, '(servers[1].tools[0].response[0])', 'errors carry each chain\'s own label')
  const otherLimits = runtime.chain([js(code, { limits: { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: 50 } })])
  t.equal(runtime.stats().interceptors, 4, 'different limits are a different interceptor')
  runtime.retain([v2a, v2b, otherLimits])
})

t.test('retain() releases interceptors no chain uses; a run in flight still finishes', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const keep = runtime.chain([js('(x) => x')])
  const drop = runtime.chain([js('(input) => { const end = Date.now() + 150; while (Date.now() < end) {} return "slow done" }', { limits: { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: 2000 } })])
  await keep.run(JsonPayload.ofValue(1), ctx)
  await drop.run(JsonPayload.ofValue(1), ctx)
  t.equal(runtime.stats().isolates, 2)
  const inFlight = drop.run(JsonPayload.ofValue(1), ctx)
  await new Promise(resolve => setTimeout(resolve, 20))
  runtime.retain([keep])
  t.equal(runtime.stats().interceptors, 1)
  t.equal((await inFlight).value(), 'slow done', 'the released interceptor\'s running call completed')
  t.equal(runtime.stats().isolates, 1, 'its isolate is gone once idle')
  t.equal((await drop.run(JsonPayload.ofValue(1), ctx)).value(), 'slow done', 'an old chain still works: rebuilt lazily')
  t.equal(runtime.stats().isolates, 1, '…and disposed again after')
  const again = runtime.chain([js('(x) => x')])
  t.equal(runtime.stats().interceptors, 1, 'the kept one is found again, not recompiled')
  t.equal((await again.run(JsonPayload.ofValue(7), ctx)).value(), 7)
})

t.test('maxIsolates bounds the total; idle isolates of other interceptors are evicted', async t => {
  const runtime = new InterceptorRuntime({ warm: false, maxIsolates: 3, isolatesPerInterceptor: 2 })
  t.teardown(() => runtime.close())
  const chains = Array.from({ length: 5 }, (_, i) => runtime.chain([js(`(input) => { const end = Date.now() + 5; while (Date.now() < end) {} return input.n * ${i + 1} }`, { limits: { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: 2000 } })]))
  let max = 0
  const sampler = setInterval(() => { max = Math.max(max, runtime.stats().isolates) }, 1)
  const results = await Promise.all(chains.flatMap((chain, i) => Array.from({ length: 6 }, (_, n) => chain.run(JsonPayload.ofValue({ n }), ctx).then(p => [i, n, p.value()]))))
  clearInterval(sampler)
  max = Math.max(max, runtime.stats().isolates)
  t.ok(max <= 3, `at most 3 isolates alive (saw ${max})`)
  t.same(results, chains.flatMap((_, i) => Array.from({ length: 6 }, (_, n) => [i, n, n * (i + 1)])), 'every run succeeded with its own output')
  t.ok(runtime.stats().isolates <= 3)
})

t.test('queue bound: past maxQueuedPerInterceptor a run fails at once with a clear error', async t => {
  const runtime = new InterceptorRuntime({ warm: false, isolatesPerInterceptor: 1, maxQueuedPerInterceptor: 2 })
  t.teardown(() => runtime.close())
  const chain = runtime.chain([js('() => { const end = Date.now() + 100; while (Date.now() < end) {} return 1 }', { name: 'busy', limits: { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: 2000 } })])
  const runs = Array.from({ length: 4 }, () => chain.run(JsonPayload.ofValue(null), ctx).then(() => 'ok', (e: InterceptorFailure) => e.message))
  const results = await Promise.all(runs)
  t.same(results.slice(0, 3), ['ok', 'ok', 'ok'])
  t.match(results[3], /^Interceptor "busy" \(.*\) was not run: 2 runs are already waiting for its 1 isolate/)
})

t.test('close() disposes every isolate; later runs fail clearly', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  const chain = runtime.chain([js('(x) => x')])
  await chain.run(JsonPayload.ofValue(1), ctx)
  t.equal(runtime.stats().isolates, 1)
  await runtime.close()
  t.equal(runtime.stats().isolates, 0)
  const err = await failure(chain.run(JsonPayload.ofValue(1), ctx))
  t.equal(err.kind, 'runtime')
  t.match(err.message, 'shut down')
})

t.test('checkInterceptorSource: positions in the operator\'s own code, nothing run', async t => {
  t.equal(checkInterceptorSource({ engine: 'js', code: '(input) => input' }), undefined)
  t.equal(checkInterceptorSource({ engine: 'js', code: '(input) =>\n  input // a comment at the end' }), undefined)
  t.same(checkInterceptorSource({ engine: 'js', code: 'x => {\n    return x +* 2\n}' }), { message: "Unexpected token '*'", line: 2, column: 15 })
  t.same(checkInterceptorSource({ engine: 'js', code: '(input) => {\n  return input.' }), { message: 'Unexpected token \')\'', line: 2, column: 16 }, 'an unfinished expression points at its end')
  t.match(checkInterceptorSource({ engine: 'js', code: 'const x = 1' }), { line: 1, column: 1 }, 'statements are not an expression')
  t.match(checkInterceptorSource({ engine: 'js', code: '   ' }), { message: /empty/ })
  t.equal(checkInterceptorSource({ engine: 'js', code: '(() => { throw new Error("never run") })()' }), undefined, 'parses; nothing is executed')
  t.equal(checkInterceptorSource({ engine: 'jmespath', code: 'items[].{name: name}' }), undefined)
  t.same(checkInterceptorSource({ engine: 'jmespath', code: 'a | | b' }), { message: 'Syntax error: invalid token (Pipe): "|"', line: 1, column: 5 })
  t.match(checkInterceptorSource({ engine: 'jmespath', code: 'foo#bar' }), { line: 1, column: 4, message: /unknown character: #/ })
  t.match(checkInterceptorSource({ engine: 'jmespath', code: 'a.b}' }), { line: 1, column: 4 })
  t.match(checkInterceptorSource({ engine: 'jmespath', code: 'items[].{\n  n: name' }), { line: 2, column: 10 }, 'missing close: the end')
})
