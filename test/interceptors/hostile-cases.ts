// Hostile interceptor code, each case with the outcome Toolgate must give. Used by
// test/interceptors/hostile.test.ts (the runtime alone) and meant for a gateway-level run too, so
// this file imports types only.
//
// `expect` is a failure kind, or 'ok-contained': the run succeeds and nothing leaked (the test checks
// the host's prototypes and, where `output` is given, the exact output). `limits` overrides the
// interceptor's limits for that case (memory bombs get a long time limit so that the memory limit,
// not the clock, is what stops them). `line` is the line the error must name, where it makes sense.
import type { InterceptorFailureKind, InterceptorLimits, InterceptorPhase } from '../../src/interceptors/types.ts'

export interface HostileCase {
  name: string
  phase: InterceptorPhase
  code: string
  input?: unknown
  expect: InterceptorFailureKind | 'ok-contained'
  message?: RegExp
  line?: number
  output?: unknown
  limits?: Partial<InterceptorLimits>
  note?: string
}

const MEMORY_BOMB_LIMITS: Partial<InterceptorLimits> = { timeoutMs: 10_000, memoryMb: 32 }

const CASES: HostileCase[] = [
  // ---- loops and recursion
  { name: 'while-true', phase: 'response', code: '() => { while (true) {} }', expect: 'timeout', message: /timed out after \d+ ms/ },
  { name: 'for-ever', phase: 'response', code: '() => { for (;;) {} }', expect: 'timeout', message: /timed out/ },
  { name: 'for-counting-forever', phase: 'request', code: '(input) => {\n  let n = 0\n  for (let i = 0; i >= 0; i++) n += i\n  return { n }\n}', input: {}, expect: 'timeout', message: /timed out/ },
  { name: 'do-while', phase: 'response', code: '() => { do {} while (1) }', expect: 'timeout', message: /timed out/ },
  { name: 'catastrophic-regex', phase: 'response', code: "() => /(a+)+b/.test('a'.repeat(40))", expect: 'timeout', message: /timed out/, note: 'irregexp backtracking is interruptible' },
  { name: 'recursion', phase: 'response', code: '() => {\n  const f = (n) => f(n + 1) + 1\n  return f(0)\n}', expect: 'runtime', message: /RangeError: Maximum call stack size exceeded/, line: 2 },
  { name: 'mutual-recursion', phase: 'response', code: '(input) => {\n  function a (n) { return b(n) }\n  function b (n) { return a(n) }\n  return a(1)\n}', expect: 'runtime', message: /Maximum call stack/ },
  // ---- memory
  { name: 'memory-huge-arrays', phase: 'response', code: '() => { const a = []; for (;;) a.push(new Array(1e6).fill(1)) }', expect: 'memory', message: /exceeded its memory limit \(32 MiB\)/, limits: MEMORY_BOMB_LIMITS },
  { name: 'memory-one-huge-array', phase: 'response', code: '() => Array(5e6).fill(1.5).length', expect: 'memory', message: /memory limit/, limits: MEMORY_BOMB_LIMITS },
  { name: 'memory-huge-strings', phase: 'response', code: "() => { const a = []; for (let i = 0;; i++) a.push('xy'.repeat(2e7) + i) }", expect: 'memory', message: /memory limit/, limits: MEMORY_BOMB_LIMITS },
  { name: 'memory-many-objects', phase: 'response', code: '() => { const a = []; for (;;) a.push(Array.from({ length: 1e5 }, (_, i) => ({ i }))) }', expect: 'memory', message: /memory limit/, limits: MEMORY_BOMB_LIMITS },
  { name: 'memory-array-doubling', phase: 'response', code: '() => { let a = [0]; for (;;) a = a.concat(a) }', expect: 'memory', message: /memory limit/, limits: MEMORY_BOMB_LIMITS },
  { name: 'string-doubling', phase: 'response', code: "() => { let s = 'x'; for (;;) s += s }", expect: 'runtime', message: /RangeError: Invalid string length/, note: "V8's string length cap is reached before the heap limit" },
  { name: 'huge-typed-array', phase: 'response', code: '() => new Float64Array(1 << 30).length', expect: 'runtime', message: /RangeError/, note: 'the allocation is refused inside the isolate' },
  // ---- async
  { name: 'await-loop', phase: 'response', code: 'async () => { for (;;) await null }', expect: 'timeout', message: /timed out/ },
  { name: 'promise-then-loop', phase: 'response', code: '() => { const loop = () => Promise.resolve().then(loop); return loop() }', expect: 'timeout', message: /timed out/ },
  { name: 'never-settling-promise', phase: 'response', code: '() => new Promise(() => {})', expect: 'runtime', message: /never settles/ },
  { name: 'atomics-wait-shared', phase: 'response', code: '() => {\n  const sab = new SharedArrayBuffer(4)\n  return Atomics.wait(new Int32Array(sab), 0, 0)\n}', expect: 'runtime', message: /SharedArrayBuffer is not defined/, line: 2, note: 'SharedArrayBuffer is removed from the sandbox' },
  { name: 'atomics-wait-plain', phase: 'response', code: '() => Atomics.wait(new Int32Array(4), 0, 0)', expect: 'runtime', message: /TypeError/ },
  // ---- escapes and probes
  { name: 'this-constructor-escape', phase: 'response', code: '() => this.constructor.constructor("return process")().env', expect: 'runtime', message: /ReferenceError: process is not defined/ },
  { name: 'input-constructor-escape', phase: 'response', code: '(input) => input.constructor.constructor("return process")().mainModule', input: { a: 1 }, expect: 'runtime', message: /process is not defined/ },
  { name: 'function-return-this', phase: 'response', code: '() => {\n  const g = Function("return this")()\n  return [typeof g.process, typeof g.require, typeof g.module, typeof g.Buffer, typeof g.fetch, typeof g.setTimeout, typeof g.WebAssembly]\n}', expect: 'ok-contained', output: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'] },
  { name: 'globalThis-probe', phase: 'response', code: '() => [typeof globalThis.process, typeof globalThis.require, typeof global, typeof queueMicrotask, typeof XMLHttpRequest, typeof WebSocket]', expect: 'ok-contained', output: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'] },
  { name: 'require-fs', phase: 'response', code: "() => require('fs').readFileSync('/etc/passwd', 'utf8')", expect: 'runtime', message: /require is not defined/ },
  { name: 'process-env', phase: 'response', code: '() => process.env', expect: 'runtime', message: /process is not defined/ },
  { name: 'fetch', phase: 'response', code: "async () => (await fetch('http://127.0.0.1:9/')).status", expect: 'runtime', message: /fetch is not defined/ },
  { name: 'dynamic-import', phase: 'response', code: "async () => (await import('fs')).readFileSync('/etc/passwd')", expect: 'runtime', message: /threw/ },
  { name: 'xmlhttprequest', phase: 'response', code: '() => new XMLHttpRequest()', expect: 'runtime', message: /XMLHttpRequest is not defined/ },
  { name: 'settimeout', phase: 'response', code: '() => new Promise((resolve) => setTimeout(resolve, 10))', expect: 'runtime', message: /setTimeout is not defined/ },
  { name: 'eval-probe', phase: 'response', code: "() => { try { return eval('process') } catch (e) { return String(e) } }", expect: 'ok-contained', output: 'ReferenceError: process is not defined' },
  // ---- prototype pollution and state between calls
  { name: 'proto-key-in-output', phase: 'response', code: '() => JSON.parse(\'{"__proto__": {"polluted": true}, "a": 1}\')', expect: 'ok-contained', note: 'an own "__proto__" key is data; the host must not get a polluted prototype' },
  { name: 'object-prototype-mutation', phase: 'response', code: "() => { Object.prototype.polluted = 'yes'; return { leaked: ({}).polluted !== undefined } }", expect: 'ok-contained', output: { leaked: false }, note: 'intrinsics are frozen: a sloppy-mode assignment is ignored' },
  { name: 'object-prototype-mutation-strict', phase: 'response', code: "() => { 'use strict'; Object.prototype.polluted = 'yes'; return 1 }", expect: 'runtime', message: /TypeError/ },
  { name: 'array-prototype-override', phase: 'response', code: "() => { try { Array.prototype.map = () => 'pwned' } catch {} return [1].map((x) => x + 1) }", expect: 'ok-contained', output: [2] },
  { name: 'global-stash', phase: 'response', code: '(input) => { globalThis.stash = input; return typeof globalThis.stash }', input: { secret: 's' }, expect: 'ok-contained', output: 'undefined', note: 'globalThis is frozen: nothing carries over to the next call' },
  { name: 'error-prepare-stack-trace', phase: 'response', code: "() => { try { Error.prepareStackTrace = () => { for (;;) {} } } catch {} throw new Error('x') }", expect: 'runtime', message: /Error: x/ },
  // ---- Proxy / Symbol tricks, getters
  { name: 'proxy-output-throwing-traps', phase: 'response', code: "(input) => new Proxy(input, { ownKeys () { throw new Error('keys trap') }, get () { throw new Error('get trap') } })", input: { a: 1 }, expect: 'not_json', message: /trap/ },
  { name: 'proxy-output-looping-trap', phase: 'response', code: '() => new Proxy({}, { ownKeys () { for (;;) {} } })', expect: 'timeout', message: /timed out/ },
  { name: 'symbol-keys-on-input', phase: 'response', code: "(input) => { input[Symbol.toPrimitive] = () => { throw new Error('x') }; input[Symbol('hidden')] = 1; return input }", input: { a: 1 }, expect: 'ok-contained', output: { a: 1 }, note: 'symbol keys are not JSON: left out' },
  { name: 'symbol-value-in-output', phase: 'response', code: "() => ({ a: Symbol('v') })", expect: 'not_json', message: /not JSON \(Symbol\)/ },
  { name: 'getter-that-throws', phase: 'response', code: "() => ({\n  get x () { throw new Error('getter') }\n})", expect: 'not_json', message: /getter/, line: 2 },
  { name: 'error-with-looping-stack-getter', phase: 'response', code: "() => { const e = new Error('x'); Object.defineProperty(e, 'stack', { get () { for (;;) {} } }); throw e }", expect: 'timeout', message: /timed out/ },
  // ---- outputs that are not JSON or too big
  { name: 'cyclic-output', phase: 'response', code: '() => { const a = { b: {} }; a.b.a = a; return a }', expect: 'not_json', message: /not JSON \(cyclic\)/ },
  { name: 'huge-output', phase: 'response', code: "() => 'x'.repeat(5e6)", expect: 'output_too_large', message: /output is 5000002 bytes, over its limit of 4194304 \(maxOutputBytes\)/ },
  { name: 'function-output', phase: 'response', code: '() => () => 1', expect: 'not_json', message: /not JSON \(function\)/ },
  { name: 'nested-function-output', phase: 'response', code: '() => ({ a: [1, { f () {} }] })', expect: 'not_json', message: /not JSON \(function\)/ },
  { name: 'symbol-output', phase: 'response', code: "() => Symbol('x')", expect: 'not_json', message: /not JSON \(Symbol\)/ },
  { name: 'bigint-output', phase: 'response', code: '() => ({ n: 10n })', expect: 'not_json', message: /not JSON \(BigInt\)/ },
  { name: 'undefined-output', phase: 'response', code: '() => undefined', expect: 'bad_output', message: /returned undefined/ },
  { name: 'deeply-nested-output', phase: 'response', code: '() => { let o = {}; for (let i = 0; i < 1e5; i++) o = { o }; return o }', expect: 'timeout', message: /timed out/, note: 'V8 serializes very deep nesting slowly (about 0.5 s for 1e5 levels here): the time limit stops it' },
  { name: 'throwing-toJSON', phase: 'response', code: "() => ({ toJSON () { throw new Error('nope') } })", expect: 'not_json', message: /serializing it threw: Error: nope/ },
  { name: 'request-returns-array', phase: 'request', code: '(args) => [args]', input: { q: 1 }, expect: 'bad_output', message: /request interceptors must return an object \(the new arguments\), got array/ },
  // ---- syntax and throws
  { name: 'syntax-error', phase: 'response', code: '(input) => {\n  return input.items.map(i => i.name}\n}', expect: 'syntax', message: /syntax error at line 2, column \d+/, line: 2 },
  { name: 'not-a-function', phase: 'response', code: '42', expect: 'runtime', message: /does not evaluate to a function \(got number\)/ },
  { name: 'throw-string', phase: 'response', code: "() => { throw 'boom' }", expect: 'runtime', message: /threw a non-Error value: "boom"/ },
  { name: 'throw-object', phase: 'response', code: '() => { throw { code: 42 } }', expect: 'runtime', message: /threw a non-Error value: \{"code":42\}/ },
  { name: 'throw-null', phase: 'response', code: '() => { throw null }', expect: 'runtime', message: /threw a non-Error value: null/ },
  { name: 'throw-error-with-payload', phase: 'response', code: '(input) => {\n  throw new Error(JSON.stringify(input))\n}', input: { secret: 'p4yl0ad' }, expect: 'runtime', message: /line 2, column 9: Error: \{"secret":"p4yl0ad"\}/, line: 2, note: 'the message may carry payload: logFields() must not' }
]

/**
 * Cases that must end in something other than a timeout get a long time limit, so that on a busy
 * machine (CI runs test files side by side) slow work such as recursing to the stack limit still
 * reaches the outcome under test instead of the clock.
 */
const SLOW_MACHINE_TIMEOUT_MS = 5000

export const HOSTILE_CASES: HostileCase[] = CASES.map(c => c.expect === 'timeout' ? c : { ...c, limits: { timeoutMs: SLOW_MACHINE_TIMEOUT_MS, ...c.limits } })
