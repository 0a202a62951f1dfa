// Every hostile case through the real runtime (real isolated-vm): the expected clear error naming the
// interceptor, the process alive, nothing leaked into the host, a normal run right after succeeds,
// and the hostile interceptor's sandbox rebuilt after timeouts and memory blow-ups.
import t from 'tap'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { DEFAULT_INTERCEPTOR_LIMITS, InterceptorFailure, InterceptorRuntime, JsonPayload } from '../../src/interceptors/index.ts'
import type { InterceptorContext, InterceptorSource } from '../../src/interceptors/index.ts'
import { HOSTILE_CASES } from './hostile-cases.ts'

const ctx: InterceptorContext = { server: 'srv', tool: 'tool', arguments: { q: 1 }, status: 200, headers: { 'content-type': 'application/json' }, endUserId: 'user-1' }
const NORMAL: InterceptorSource = { label: 'servers[0].tools[0].response[0]', name: 'normal', engine: 'js', phase: 'response', code: '(input) => input.items.map((i) => i.name)', limits: { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: 2000 } }
// The normal interceptor's limit is generous on purpose: right after a memory bomb the machine (2 shared
// cores) is still busy tearing the dead isolate's heap down; what is asserted is that it works, not how fast.
const normalInput = () => JsonPayload.ofValue({ items: [{ name: 'a', x: 1 }, { name: 'b', x: 2 }] })

function hostileSource (c: typeof HOSTILE_CASES[number], i: number): InterceptorSource {
  return { label: `servers[0].tools[${i}].${c.phase}[0]`, name: `hostile-${c.name}`, engine: 'js', phase: c.phase, code: c.code, limits: { ...DEFAULT_INTERCEPTOR_LIMITS, ...c.limits } }
}

const hostPrototypesClean = (): boolean =>
  (({}) as Record<string, unknown>).polluted === undefined &&
  ([] as unknown as Record<string, unknown>).polluted === undefined &&
  typeof (Array.prototype as unknown as Record<string, unknown>).map === 'function' && [1].map(x => x + 1)[0] === 2 &&
  (globalThis as Record<string, unknown>).stash === undefined

t.test('the list has at least 34 cases with distinct names', async t => {
  t.ok(HOSTILE_CASES.length >= 34, `${HOSTILE_CASES.length} cases`)
  t.equal(new Set(HOSTILE_CASES.map(c => c.name)).size, HOSTILE_CASES.length)
})

t.test('each hostile case: clear error, process alive, normal run after, rebuilt', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const normal = runtime.chain([NORMAL])
  t.same((await normal.run(normalInput(), ctx)).value(), ['a', 'b'])

  for (const [i, c] of HOSTILE_CASES.entries()) {
    await t.test(c.name, async t => {
      const source = hostileSource(c, i)
      const before = runtime.stats()
      let outcome: { ok: true, output: JsonPayload } | { ok: false, error: unknown }
      try {
        const chain = runtime.chain([source])
        outcome = { ok: true, output: await chain.run(JsonPayload.ofValue(c.input ?? { items: [] }), ctx) }
      } catch (error) {
        outcome = { ok: false, error }
      }
      if (c.expect === 'ok-contained') {
        t.ok(outcome.ok, `succeeds${outcome.ok ? '' : ': ' + String((outcome.error as Error).message)}`)
        if (outcome.ok && c.output !== undefined) t.same(outcome.output.value(), c.output, 'the exact output')
        if (outcome.ok && c.name === 'proto-key-in-output') {
          const value = outcome.output.value() as Record<string, unknown>
          t.ok(Object.hasOwn(value, '__proto__'), '"__proto__" is an own data key of the output')
          t.equal(Object.getPrototypeOf(value), Object.prototype, 'the output object has the ordinary prototype')
        }
        // A second call of the same interceptor sees a clean environment too.
        const again = await runtime.chain([source]).run(JsonPayload.ofValue(c.input ?? { items: [] }), ctx)
        if (c.output !== undefined) t.same(again.value(), c.output, 'same output on the next call: nothing carried over')
      } else {
        t.notOk(outcome.ok, 'fails')
        if (!outcome.ok) {
          const err = outcome.error
          t.ok(err instanceof InterceptorFailure, 'an InterceptorFailure')
          if (err instanceof InterceptorFailure) {
            t.equal(err.kind, c.expect, `kind ${c.expect}: ${err.message}`)
            t.equal(err.code, 'TG_ERR_INTERCEPTOR')
            t.equal(err.statusCode, 422)
            t.match(err.message, `Interceptor "hostile-${c.name}" (${source.label})`, 'names the interceptor and where it is')
            if (c.message) t.match(err.message, c.message)
            if (c.line !== undefined) t.equal(err.line, c.line, `line ${c.line}`)
            t.same(Object.keys(err.logFields()).filter(k => !['interceptor', 'label', 'kind', 'line', 'column'].includes(k)), [], 'logFields has no message')
            t.notMatch(JSON.stringify(err.logFields()), /p4yl0ad/, 'no payload in logFields')
          }
        }
        if (c.expect === 'timeout' || c.expect === 'memory') {
          t.ok(runtime.stats().rebuilds > before.rebuilds, 'its isolate is disposed for a rebuild')
          t.ok(runtime.stats().failures[c.expect] > before.failures[c.expect], 'counted')
        }
      }
      t.ok(hostPrototypesClean(), 'nothing leaked into the host')
      t.equal(process.exitCode ?? 0, 0, 'the process is alive and well')
      const after = await normal.run(normalInput(), ctx)
      t.same(after.value(), ['a', 'b'], 'a normal interceptor on the same runtime works right after')
      // The hostile interceptor is forgotten, so the runtime does not fill up over the list.
      runtime.retain([normal])
    })
  }
  t.ok(runtime.stats().isolates <= 32, 'bounded')
})

t.test('a hostile interceptor hammered beside 100 normal runs: all normal runs succeed, the event loop never stalls', async t => {
  const runtime = new InterceptorRuntime({ warm: false, isolatesPerInterceptor: 2 })
  t.teardown(() => runtime.close())
  const HOSTILE_LIMIT_MS = 250
  const hostile = runtime.chain([{ label: 'servers[0].tools[0].response[0]', name: 'spin', engine: 'js', phase: 'response', code: '() => { while (true) {} }', limits: { ...DEFAULT_INTERCEPTOR_LIMITS, timeoutMs: HOSTILE_LIMIT_MS } }])
  const normal = runtime.chain([{ ...NORMAL, code: '(input, ctx) => ({ n: input.n * 2, user: ctx.endUserId })' }])
  // Warm both first, so that isolate construction (synchronous in isolated-vm, a few ms) is not in the measurement.
  await normal.run(JsonPayload.ofValue({ n: 0 }), ctx)
  await hostile.run(JsonPayload.ofValue({}), ctx).catch(() => {})

  const histogram = monitorEventLoopDelay({ resolution: 5 })
  histogram.enable()
  const started = performance.now()
  const hostileRuns = Array.from({ length: 20 }, () => hostile.run(JsonPayload.ofValue({}), ctx).then(() => 'ok', (e: InterceptorFailure) => e.kind))
  const normalRuns = Array.from({ length: 100 }, (_, n) => normal.run(JsonPayload.ofValue({ n }), ctx).then(p => p.value()))
  const normalResults = await Promise.all(normalRuns)
  const normalDoneMs = performance.now() - started
  const hostileResults = await Promise.all(hostileRuns)
  histogram.disable()

  t.same(normalResults, Array.from({ length: 100 }, (_, n) => ({ n: n * 2, user: 'user-1' })), 'all 100 normal runs succeed with correct outputs')
  t.same([...new Set(hostileResults)], ['timeout'], 'every hostile run is a timeout')
  const maxStallMs = histogram.max / 1e6
  t.comment(`normal runs done in ${normalDoneMs.toFixed(0)} ms; longest event-loop stall ${maxStallMs.toFixed(1)} ms (hostile limit ${HOSTILE_LIMIT_MS} ms)`)
  // If the host ran the hostile script on its own thread, each spin would stall the loop for the whole limit.
  t.ok(maxStallMs < HOSTILE_LIMIT_MS, `longest stall ${maxStallMs.toFixed(1)} ms < ${HOSTILE_LIMIT_MS} ms`)
  t.ok(normalDoneMs < 20 * HOSTILE_LIMIT_MS / 2, 'normal runs did not queue behind the hostile ones')
})
