// maxOutputBytes for JMESPath: counted without building the text first, so an expression whose
// output is exponentially large (shared references) is refused at once instead of stalling.
import t from 'tap'
import { DEFAULT_INTERCEPTOR_LIMITS, InterceptorFailure, InterceptorRuntime, JsonPayload } from '../../src/interceptors/index.ts'
import type { InterceptorContext, InterceptorSource } from '../../src/interceptors/index.ts'

const ctx: InterceptorContext = { server: 's', tool: 't', arguments: {}, endUserId: null }
const jp = (code: string, maxOutputBytes: number): InterceptorSource =>
  ({ label: 'servers[0].tools[0].response[0]', name: 'cap', engine: 'jmespath', phase: 'response', code, limits: { ...DEFAULT_INTERCEPTOR_LIMITS, maxOutputBytes } })

async function outcome (runtime: InterceptorRuntime, source: InterceptorSource, input: unknown): Promise<unknown> {
  try {
    return (await runtime.chain([source]).run(JsonPayload.ofValue(input), ctx)).value()
  } catch (err) {
    if (err instanceof InterceptorFailure) return err
    throw err
  }
}

t.test('JMESPath outputs over maxOutputBytes are refused; the cap is part of the interceptor', async t => {
  const runtime = new InterceptorRuntime({ warm: false })
  t.teardown(() => runtime.close())
  const rows = { items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `name-${i}` })) }

  t.same(await outcome(runtime, jp('items[].id', 1000), rows), rows.items.map(r => r.id), 'under the cap: the output')
  const over = await outcome(runtime, jp('items', 100), rows)
  t.ok(over instanceof InterceptorFailure, 'over the cap: a failure')
  t.match(over, { kind: 'output_too_large', message: /Interceptor "cap" \(servers\[0\]\.tools\[0\]\.response\[0\]\).*over its limit of 100 bytes/ })
  t.same(await outcome(runtime, jp('items', 1_000_000), rows), rows.items, 'the same expression with a larger cap is another interceptor, and passes')

  // Each stage of the pipe doubles the text but not the memory (two references to the last output):
  // 40 stages of the 1.5 KB input would be petabytes of JSON.
  const doubling = Array.from({ length: 40 }, () => '[@, @]').join(' | ')
  t.match(await outcome(runtime, jp(doubling, 4 * 1024 * 1024), rows), { kind: 'output_too_large' }, 'an exponentially large output is refused without being built')
  t.same(await outcome(runtime, jp(Array.from({ length: 3 }, () => '[@, @]').join(' | '), 4 * 1024 * 1024), { a: 1 }), [[[{ a: 1 }, { a: 1 }], [{ a: 1 }, { a: 1 }]], [[{ a: 1 }, { a: 1 }], [{ a: 1 }, { a: 1 }]]], 'a few stages are fine')

  // Multi-byte text: under the cap by characters, over it in UTF-8 bytes.
  const wide = { text: 'é'.repeat(600) }
  t.match(await outcome(runtime, jp('text', 1000), wide), { kind: 'output_too_large', message: /output is 1202 bytes/ }, 'counted in UTF-8 bytes')
  t.equal(await outcome(runtime, jp('text', 1300), wide), wide.text)
})
