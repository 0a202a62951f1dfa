// The JS interceptor sandbox.
//
// Semantics (what an operator writes):
// - `code` is ONE JavaScript expression that evaluates to a function: `(input, ctx) => …`,
//   `function (input, ctx) { … }` or `async (input, ctx) => …` (a returned promise is awaited, inside
//   the same time limit). Helpers go inside it, e.g. an IIFE returning the function. The expression is
//   evaluated anew for every call, so nothing survives from one call to the next.
// - Line/column numbers in every error are the operator's own (line 1 = first line of `code`).
// - `input`: the parsed JSON (request phase: the arguments object; response phase: the upstream body,
//   or a string when the upstream body was text). `ctx`: a deep-frozen copy of { server, tool,
//   arguments, status?, headers?, endUserId }.
// - Output: any JSON value for `response` (`undefined` is bad_output); a plain object for `request`
//   (anything else is bad_output). Functions, symbols, BigInt anywhere, cycles, and getters/toJSON
//   that throw while serializing are not_json; `undefined` properties are dropped as JSON does. The
//   size is checked on the JSON text in UTF-8 bytes (output_too_large).
// - Available: the ECMAScript built-ins (JSON, Math, Date, RegExp, Map, Intl, …), atob/btoa,
//   TextEncoder/TextDecoder (UTF-8), URL/URLSearchParams, structuredClone, DOMException. Absent:
//   require, process, import() (rejects), fetch/XMLHttpRequest/WebSocket, file system, timers
//   (setTimeout, setInterval, queueMicrotask), SharedArrayBuffer, WebAssembly, WeakRef,
//   FinalizationRegistry, and every Toolgate/host object.
// - Every intrinsic and globalThis are frozen: assignments to them are ignored (sloppy code) or throw
//   (strict code). Own properties named like Object.prototype/Error.prototype members (out.constructor,
//   this.name) can still be assigned.
// - Failures: runtime (a throw, with line/column for Errors; "threw a non-Error value: …" otherwise),
//   timeout (limits.timeoutMs of wall time, promise jobs included), memory (limits.memoryMb heap per
//   isolate; a ~1 MB JSON body needs about 64 MiB to be parsed and transformed), output_too_large,
//   not_json, bad_output.
//
// Isolation: one isolated-vm Isolate per warm slot (its own V8 heap, memory-limited), one context in
// it, locked down by the prelude; only strings cross (input JSON text and ctx JSON text in, output JSON
// text or an error record out), so no host object or reference ever enters. A timeout or memory
// blow-up disposes the isolate (rebuilt lazily or in the background); any other failure replaces the
// context. Runs use isolated-vm's async API only: the isolate runs on its own thread and the event
// loop never waits for it. Sync calls measured ~4x cheaper on a 1 KB body, but V8 cannot interrupt
// some builtins (a String.prototype.replace over 2 MB ran 249 ms past a 4 ms timeout), which would
// stall the gateway's event loop; a shared watchdog ends such a run at timeoutMs + 50 ms and disposes
// its isolate.
import ivm from 'isolated-vm'
import { JS_LINE_OFFSET, wrapJs } from './check.ts'
import { INTERCEPTOR_FILENAME, SANDBOX_FILENAME, SANDBOX_PRELUDE } from './sandbox-prelude.ts'
import type { InterceptorFailureKind, InterceptorLimits } from './types.ts'

/** What a run produced: output JSON text, or a failure without the interceptor's name yet. */
export type SlotOutcome =
  | { ok: true, text: string }
  | { ok: false, kind: InterceptorFailureKind, detail: string, line?: number, column?: number, fatal: boolean }

/** Set-up work (prelude, lockdown, compiling) gets this long, whatever the interceptor's own limit. */
const SETUP_TIMEOUT_MS = 2000
/**
 * isolated-vm's timeout cannot stop a long builtin (one String.prototype.replace over megabytes runs
 * to its end); past the limit plus this grace the host stops waiting, disposes the isolate and
 * reports the timeout.
 */
const WATCHDOG_GRACE_MS = 50
/** After this many context resets (runtime failures) the whole isolate is rebuilt, to free the old contexts for sure. */
const RESETS_PER_ISOLATE = 8

/**
 * One shared watchdog for all runs in flight (no timer per call): every 20 ms it ends the runs past
 * their deadline. It only exists while runs are in flight.
 */
const inFlight = new Set<JsSlot>()
let watchdog: NodeJS.Timeout | undefined
function watch (slot: JsSlot): void {
  inFlight.add(slot)
  if (watchdog === undefined) {
    watchdog = setInterval(() => {
      if (inFlight.size === 0) { clearInterval(watchdog); watchdog = undefined; return }
      const now = performance.now()
      for (const s of inFlight) if (now > s.deadline) s.abort()
    }, 20)
    watchdog.unref()
  }
}
function unwatch (slot: JsSlot): void { inFlight.delete(slot) }

interface Hooks {
  run: ivm.Reference<(input: string, ctx: string, isRequest: boolean, maxBytes: number) => string>
  collect: ivm.Reference<() => string>
}

export class JsSlot {
  readonly isolate: ivm.Isolate
  #context: ivm.Context | undefined
  #hooks: Hooks | undefined
  #resets = 0
  busy = false
  disposed = false
  lastUsed = 0
  runs = 0

  private constructor (isolate: ivm.Isolate) { this.isolate = isolate }

  /** A new isolate (synchronous in isolated-vm: ~3 ms on this machine) and a context set up in it (async). */
  static async create (code: string, limits: InterceptorLimits, cache: { data?: ivm.ExternalCopy<ArrayBuffer> }): Promise<JsSlot> {
    const slot = new JsSlot(new ivm.Isolate({ memoryLimit: Math.max(8, limits.memoryMb) }))
    try {
      await slot.#setUp(code, cache)
      return slot
    } catch (err) {
      slot.dispose()
      throw err
    }
  }

  async #setUp (code: string, cache: { data?: ivm.ExternalCopy<ArrayBuffer> }): Promise<void> {
    const context = await this.isolate.createContext()
    try {
      const hooks = await context.eval(SANDBOX_PRELUDE, { filename: SANDBOX_FILENAME, timeout: SETUP_TIMEOUT_MS, reference: true }) as ivm.Reference<Record<string, unknown>>
      const run = await hooks.get('run', { reference: true }) as Hooks['run']
      const collect = await hooks.get('collect', { reference: true }) as Hooks['collect']
      const install = await hooks.get('install', { reference: true }) as ivm.Reference<(f: unknown) => void>
      const options: ivm.ScriptInfo = { filename: INTERCEPTOR_FILENAME, lineOffset: JS_LINE_OFFSET }
      if (cache.data !== undefined) options.cachedData = cache.data
      else options.produceCachedData = true
      const script = await this.isolate.compileScript(wrapJs(code), options) as ivm.Script & ivm.CachedDataResult
      if (cache.data === undefined && script.cachedData !== undefined) cache.data = script.cachedData
      const factory = await script.run(context, { timeout: SETUP_TIMEOUT_MS, reference: true }) as ivm.Reference<unknown>
      await install.apply(undefined, [factory.derefInto()], { timeout: SETUP_TIMEOUT_MS })
      script.release(); install.release(); hooks.release()
      this.#context?.release()
      this.#context = context
      this.#hooks = { run, collect }
    } catch (err) {
      context.release()
      throw err
    }
  }

  /**
   * After a failure that did not kill the isolate: a new context, so nothing of the failed call
   * survives. Returns false when the isolate should be rebuilt instead.
   */
  async reset (code: string, cache: { data?: ivm.ExternalCopy<ArrayBuffer> }): Promise<boolean> {
    if (this.disposed || this.isolate.isDisposed || ++this.#resets > RESETS_PER_ISOLATE) return false
    try {
      this.#hooks?.run.release(); this.#hooks?.collect.release(); this.#hooks = undefined
      await this.#setUp(code, cache)
      return true
    } catch {
      return false
    }
  }

  /** Set while a run is in flight: its deadline for the watchdog, and how to end it early. */
  deadline = 0
  #abort: (() => void) | undefined

  run (inputText: string, ctxText: string, isRequest: boolean, limits: InterceptorLimits): Promise<SlotOutcome> {
    const hooks = this.#hooks
    if (hooks === undefined || this.disposed) return Promise.resolve({ ok: false, kind: 'runtime', detail: 'could not run: its sandbox is gone', fatal: true })
    this.runs++
    const started = performance.now()
    return new Promise<SlotOutcome>(resolve => {
      let settled = false
      let watchdogFired = false
      const finish = (outcome: SlotOutcome): void => {
        if (settled) return
        settled = true
        this.#abort = undefined
        unwatch(this)
        resolve(outcome)
      }
      this.deadline = started + limits.timeoutMs + WATCHDOG_GRACE_MS
      this.#abort = () => {
        watchdogFired = true
        this.dispose()
        finish({ ok: false, kind: 'timeout', detail: `timed out after ${limits.timeoutMs} ms`, fatal: true })
      }
      watch(this)
      const fail = (err: unknown): void => finish(this.#classify(err, watchdogFired, limits))
      hooks.run.apply(undefined, [inputText, ctxText, isRequest, limits.maxOutputBytes], { timeout: limits.timeoutMs }).then(result => {
        if (result !== 'P') return finish(decode(result))
        // The interceptor returned a promise; V8 ran the microtask queue when run() returned, within
        // the same time limit. If it is still pending now, nothing can ever settle it.
        const left = Math.max(1, Math.ceil(limits.timeoutMs - (performance.now() - started)))
        hooks.collect.apply(undefined, [], { timeout: left }).then(r => finish(decode(r)), fail)
      }, fail)
    })
  }

  /** The watchdog's call: past the deadline, dispose the isolate and report the timeout now. */
  abort (): void { this.#abort?.() }

  #classify (err: unknown, watchdogFired: boolean, limits: InterceptorLimits): SlotOutcome {
    const message = err instanceof Error ? err.message : String(err)
    if (watchdogFired || /timed out/i.test(message)) {
      return { ok: false, kind: 'timeout', detail: `timed out after ${limits.timeoutMs} ms`, fatal: true }
    }
    if (/memory limit/i.test(message) || this.isolate.isDisposed) {
      if (this.disposed && !/memory limit/i.test(message)) return { ok: false, kind: 'runtime', detail: 'was stopped: its sandbox was shut down', fatal: true }
      return { ok: false, kind: 'memory', detail: `exceeded its memory limit (${limits.memoryMb} MiB)`, fatal: true }
    }
    // Anything else came from isolated-vm itself (a value that could not cross, an internal error).
    return { ok: false, kind: 'runtime', detail: `failed in the sandbox: ${message.slice(0, 300)}`, fatal: false }
  }

  dispose (): void {
    if (this.disposed) return
    this.disposed = true
    try { this.#hooks?.run.release(); this.#hooks?.collect.release() } catch {}
    try { if (!this.isolate.isDisposed) this.isolate.dispose() } catch {}
  }
}

function decode (result: unknown): SlotOutcome {
  if (typeof result !== 'string' || result.length === 0) return { ok: false, kind: 'runtime', detail: 'failed in the sandbox: no result', fatal: false }
  const tag = result.charCodeAt(0)
  if (tag === 79 /* O */) return { ok: true, text: result.slice(1) }
  if (tag === 69 /* E */) {
    let rec: { kind?: InterceptorFailureKind, message?: string, line?: number, column?: number }
    try { rec = JSON.parse(result.slice(1)) } catch { rec = {} }
    const kind = rec.kind ?? 'runtime'
    const detail = describe(kind, rec.message ?? 'failed', rec.line, rec.column)
    const outcome: SlotOutcome = { ok: false, kind, detail, fatal: false }
    if (typeof rec.line === 'number') outcome.line = rec.line
    if (typeof rec.column === 'number') outcome.column = rec.column
    return outcome
  }
  return { ok: false, kind: 'runtime', detail: 'failed in the sandbox: unexpected result', fatal: false }
}

function describe (kind: InterceptorFailureKind, message: string, line?: number, column?: number): string {
  const at = line === undefined ? '' : column === undefined ? ` at line ${line}` : ` at line ${line}, column ${column}`
  if (kind === 'runtime') {
    if (message.startsWith('threw a non-Error value') || message.startsWith('does not evaluate') || message.startsWith('returned a promise')) return message + at
    return `threw${at}: ${message}`
  }
  if (kind === 'not_json' && at) return `${message}${at}`
  return message
}
