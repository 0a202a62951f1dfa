// The interceptor runtime: compiles sources into chains (synchronously, for the config compiler),
// shares compiled state between identical sources across chains and config versions, and owns the
// pool of warm JS sandboxes (isolatesPerInterceptor each, maxIsolates in total, idle ones of other
// interceptors evicted least-recently-used first when the total is reached).
import { checkInterceptorSource } from './check.ts'
import { InterceptorFailure } from './errors.ts'
import { JmesAstCache, jsonTextLength, searchJmes } from './jmespath.ts'
import type { JmesAst } from './jmespath.ts'
import { JsSlot } from './js.ts'
import type { SlotOutcome } from './js.ts'
import { JsonPayload } from './payload.ts'
import { INTERCEPTOR_ENGINES, INTERCEPTOR_PHASES } from './types.ts'
import type { InterceptorContext, InterceptorEngine, InterceptorFailureKind, InterceptorLimits, InterceptorPhase, InterceptorSource } from './types.ts'
import type ivm from 'isolated-vm'

export interface InterceptorRuntimeOptions {
  /** Warm isolates in total, all interceptors together (default 32). */
  maxIsolates?: number
  /** Warm isolates per interceptor (default 2): that many of its runs at once, the rest queue. */
  isolatesPerInterceptor?: number
  /** Runs that may wait for a busy interceptor's isolates (default 256); past it a run fails at once. */
  maxQueuedPerInterceptor?: number
  /** Build one isolate for each new JS interceptor in the background when chain() sees it (default true). */
  warm?: boolean
}

export interface CompiledInterceptor {
  readonly name: string
  readonly label: string
  readonly engine: InterceptorEngine
  readonly phase: InterceptorPhase
  /** Rejects with InterceptorFailure only. */
  run (input: JsonPayload, ctx: InterceptorContext): Promise<JsonPayload>
}

export interface CompiledChain {
  readonly length: number
  readonly interceptors: readonly CompiledInterceptor[]
  /** Each interceptor's output is the next one's input; the first failure rejects. */
  run (input: JsonPayload, ctx: InterceptorContext): Promise<JsonPayload>
}

export interface InterceptorRuntimeStats {
  /** Isolates alive or being built. */
  isolates: number
  /** Distinct compiled interceptors held (identical sources count once). */
  interceptors: number
  /** Sandboxes thrown away after a failure: isolates disposed (timeout, memory) and contexts reset (other errors). */
  rebuilds: number
  failures: Record<InterceptorFailureKind, number>
}

const FAILURE_KINDS: readonly InterceptorFailureKind[] = ['syntax', 'runtime', 'timeout', 'memory', 'output_too_large', 'not_json', 'bad_output']

interface Waiter {
  resolve (slot: JsSlot): void
  reject (err: InterceptorFailure | { kind: InterceptorFailureKind, detail: string }): void
  timer: NodeJS.Timeout
  settled: boolean
}

class JmesState {
  readonly engine = 'jmespath' as const
  readonly key: string
  readonly phase: InterceptorPhase
  readonly code: string
  readonly ast: JmesAst
  readonly maxOutputBytes: number
  constructor (key: string, phase: InterceptorPhase, code: string, ast: JmesAst, maxOutputBytes: number) {
    this.key = key; this.phase = phase; this.code = code; this.ast = ast; this.maxOutputBytes = maxOutputBytes
  }
}

class JsState {
  readonly engine = 'js' as const
  readonly key: string
  readonly phase: InterceptorPhase
  readonly code: string
  readonly limits: InterceptorLimits
  readonly perInterceptor: number
  readonly slots = new Set<JsSlot>()
  /** Idle slots, least recently used first. */
  readonly idle: JsSlot[] = []
  readonly waiters: Waiter[] = []
  readonly cache: { data?: ivm.ExternalCopy<ArrayBuffer> } = {}
  building = 0
  released = false
  constructor (key: string, phase: InterceptorPhase, code: string, limits: InterceptorLimits, perInterceptor: number) {
    this.key = key; this.phase = phase; this.code = code; this.limits = limits; this.perInterceptor = perInterceptor
  }
}

type State = JmesState | JsState

const ctxTexts = new WeakMap<InterceptorContext, string>()
function contextText (ctx: InterceptorContext): string {
  let text = ctxTexts.get(ctx)
  if (text === undefined) {
    text = JSON.stringify({
      server: ctx.server,
      tool: ctx.tool,
      arguments: ctx.arguments ?? {},
      ...(ctx.status === undefined ? {} : { status: ctx.status }),
      ...(ctx.headers === undefined ? {} : { headers: ctx.headers }),
      endUserId: ctx.endUserId ?? null
    })
    ctxTexts.set(ctx, text)
  }
  return text
}

function normalizeLimits (limits: InterceptorLimits): InterceptorLimits {
  return {
    timeoutMs: Math.max(1, Math.floor(limits.timeoutMs)),
    memoryMb: Math.max(8, Math.floor(limits.memoryMb)),
    maxOutputBytes: Math.max(1, Math.floor(limits.maxOutputBytes))
  }
}

function stateKey (engine: InterceptorEngine, phase: InterceptorPhase, code: string, limits: InterceptorLimits): string {
  return engine === 'jmespath'
    ? `jmespath\0${phase}\0${limits.maxOutputBytes}\0${code}`
    : `js\0${phase}\0${limits.timeoutMs}\0${limits.memoryMb}\0${limits.maxOutputBytes}\0${code}`
}

const typeOfJson = (v: unknown): string => v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v

class BoundInterceptor implements CompiledInterceptor {
  readonly name: string
  readonly label: string
  readonly engine: InterceptorEngine
  readonly phase: InterceptorPhase
  readonly state: State
  readonly #runtime: InterceptorRuntime
  readonly #displayName: string | undefined

  constructor (runtime: InterceptorRuntime, source: InterceptorSource, state: State) {
    this.#runtime = runtime
    this.#displayName = source.name
    this.name = source.name ?? source.label
    this.label = source.label
    this.engine = source.engine
    this.phase = source.phase
    this.state = state
  }

  failure (kind: InterceptorFailureKind, detail: string, line?: number, column?: number): InterceptorFailure {
    this.#runtime._countFailure(kind)
    return new InterceptorFailure({ name: this.#displayName, label: this.label, kind, detail, line, column })
  }

  async run (input: JsonPayload, ctx: InterceptorContext): Promise<JsonPayload> {
    const state = this.state
    if (state.engine === 'jmespath') return this.#runJmes(state, input)
    let outcome: SlotOutcome
    try {
      outcome = await this.#runtime._runJs(state, input.text(), contextText(ctx))
    } catch (err) {
      if (err instanceof InterceptorFailure) throw err
      const e = err as { kind?: InterceptorFailureKind, detail?: string, message?: string }
      throw this.failure(e.kind ?? 'runtime', e.detail ?? `failed: ${e.message ?? String(err)}`)
    }
    if (outcome.ok) {
      const payload = JsonPayload.ofText(outcome.text)
      // The sandbox refused text longer than the cap in UTF-16 units; multi-byte characters can still
      // take it over in UTF-8 bytes, which only the host counts (natively), and only when it could.
      const max = state.limits.maxOutputBytes
      if (outcome.text.length * 3 > max && payload.byteLength() > max) {
        throw this.failure('output_too_large', `output is ${payload.byteLength()} bytes, over its limit of ${max} (maxOutputBytes)`)
      }
      return payload
    }
    throw this.failure(outcome.kind, outcome.detail, outcome.line, outcome.column)
  }

  #runJmes (state: JmesState, input: JsonPayload): Promise<JsonPayload> {
    let value: unknown
    try {
      value = input.value()
    } catch (err) {
      return Promise.reject(this.failure('runtime', `got an input that is not JSON: ${(err as Error).message}`))
    }
    let out: unknown
    try {
      out = searchJmes(state.ast, value)
    } catch (err) {
      return Promise.reject(this.failure('runtime', `failed: ${err instanceof Error ? err.message : String(err)}`))
    }
    if (state.phase === 'request' && typeOfJson(out) !== 'object') {
      return Promise.reject(this.failure('bad_output', `request interceptors must return an object (the new arguments), got ${typeOfJson(out)}`))
    }
    const payload = JsonPayload.ofValue(out)
    const max = state.maxOutputBytes
    // A bounded walk first (it stops early on a blow-up, before any text is built); the exact UTF-8
    // count when escapes (up to 6 bytes a character) or multi-byte text could take it over the cap.
    const approximate = jsonTextLength(out, max)
    if (approximate > max) return Promise.reject(this.failure('output_too_large', `output is over its limit of ${max} bytes (maxOutputBytes)`))
    if (approximate * 6 > max && payload.byteLength() > max) {
      return Promise.reject(this.failure('output_too_large', `output is ${payload.byteLength()} bytes, over its limit of ${max} (maxOutputBytes)`))
    }
    return Promise.resolve(payload)
  }
}

class Chain implements CompiledChain {
  readonly interceptors: readonly BoundInterceptor[]
  constructor (interceptors: BoundInterceptor[]) { this.interceptors = Object.freeze(interceptors) }
  get length (): number { return this.interceptors.length }
  async run (input: JsonPayload, ctx: InterceptorContext): Promise<JsonPayload> {
    let payload = input
    for (const interceptor of this.interceptors) payload = await interceptor.run(payload, ctx)
    return payload
  }
}

export class InterceptorRuntime {
  readonly #maxIsolates: number
  readonly #perInterceptor: number
  readonly #maxQueued: number
  readonly #warm: boolean
  readonly #registry = new Map<string, State>()
  readonly #asts = new JmesAstCache()
  /** Every JS state that has slots, registered or not (released ones, the tester's). */
  readonly #live = new Set<JsState>()
  /** JS states with runs waiting for a slot. */
  readonly #waiting = new Set<JsState>()
  #total = 0
  #rebuilds = 0
  #closed = false
  readonly #failures: Record<InterceptorFailureKind, number>

  constructor (options: InterceptorRuntimeOptions = {}) {
    this.#maxIsolates = Math.max(1, Math.floor(options.maxIsolates ?? 32))
    this.#perInterceptor = Math.max(1, Math.floor(options.isolatesPerInterceptor ?? 2))
    this.#maxQueued = Math.max(0, Math.floor(options.maxQueuedPerInterceptor ?? 256))
    this.#warm = options.warm ?? true
    this.#failures = Object.fromEntries(FAILURE_KINDS.map(k => [k, 0])) as Record<InterceptorFailureKind, number>
  }

  /** Synchronous: compiles (or finds compiled) each source; throws InterceptorFailure `syntax`. */
  chain (sources: InterceptorSource[]): CompiledChain {
    return new Chain(sources.map(source => new BoundInterceptor(this, source, this.#stateFor(source, true))))
  }

  /**
   * A compiled interceptor outside the registry, with one isolate at most, for the dry-run tester:
   * dispose() frees it. Its isolate counts in maxIsolates while it lives.
   */
  detached (source: InterceptorSource): { interceptor: CompiledInterceptor, dispose (): void } {
    const state = this.#stateFor(source, false)
    return {
      interceptor: new BoundInterceptor(this, source, state),
      dispose: () => { if (state.engine === 'js') this.#releaseState(state) }
    }
  }

  #stateFor (source: InterceptorSource, register: boolean): State {
    const fail = (detail: string, line?: number, column?: number): InterceptorFailure => {
      this._countFailure('syntax')
      return new InterceptorFailure({ name: source.name, label: source.label, kind: 'syntax', detail, line, column })
    }
    if (!INTERCEPTOR_ENGINES.includes(source.engine)) throw fail(`has an unknown engine ${JSON.stringify(source.engine)}`)
    if (!INTERCEPTOR_PHASES.includes(source.phase)) throw fail(`has an unknown phase ${JSON.stringify(source.phase)}`)
    if (typeof source.code !== 'string') throw fail('has no code')
    const limits = normalizeLimits(source.limits)
    const key = stateKey(source.engine, source.phase, source.code, limits)
    const known = register ? this.#registry.get(key) : undefined
    if (known !== undefined) return known
    let state: State
    if (source.engine === 'jmespath') {
      const parsed = register ? this.#asts.get(source.code) : this.#parseDetached(source.code)
      if ('error' in parsed) {
        throw fail(`has a syntax error at line ${parsed.error.line}, column ${parsed.error.column}: ${parsed.error.message}`, parsed.error.line, parsed.error.column)
      }
      state = new JmesState(key, source.phase, source.code, parsed.ast, limits.maxOutputBytes)
    } else {
      const problem = checkInterceptorSource(source)
      if (problem !== undefined) {
        const at = problem.line === undefined ? '' : problem.column === undefined ? ` at line ${problem.line}` : ` at line ${problem.line}, column ${problem.column}`
        throw fail(`has a syntax error${at}: ${problem.message}`, problem.line, problem.column)
      }
      state = new JsState(key, source.phase, source.code, limits, register ? this.#perInterceptor : 1)
      if (register && this.#warm && !this.#closed) setImmediate(() => this.#warmUp(state as JsState))
    }
    if (register) this.#registry.set(key, state)
    return state
  }

  #parseDetached (code: string): ReturnType<JmesAstCache['get']> {
    return new JmesAstCache(1).get(code)
  }

  /**
   * Called after the gateway swapped to a new config version: interceptors used by none of these
   * chains are forgotten and their idle isolates disposed (busy ones when their run ends; a run that
   * still holds an old chain rebuilds an isolate lazily).
   */
  retain (chains: Iterable<CompiledChain>): void {
    const keep = new Set<State>()
    for (const chain of chains) {
      for (const interceptor of chain.interceptors) {
        if (interceptor instanceof BoundInterceptor) keep.add(interceptor.state)
      }
    }
    const expressions = new Set<string>()
    for (const [key, state] of this.#registry) {
      if (keep.has(state)) {
        if (state.engine === 'jmespath') expressions.add(state.code)
        continue
      }
      this.#registry.delete(key)
      if (state.engine === 'js') this.#releaseState(state)
    }
    this.#asts.keep(expressions)
  }

  stats (): InterceptorRuntimeStats {
    return { isolates: this.#total, interceptors: this.#registry.size, rebuilds: this.#rebuilds, failures: { ...this.#failures } }
  }

  async close (): Promise<void> {
    this.#closed = true
    for (const state of this.#waiting) {
      for (const w of state.waiters.splice(0)) this.#rejectWaiter(w, { kind: 'runtime', detail: 'was not run: the interceptor runtime is shut down' })
    }
    this.#waiting.clear()
    for (const state of [...this.#live]) {
      for (const slot of [...state.slots]) { slot.dispose(); this.#forget(state, slot) }
    }
    this.#registry.clear()
  }

  /** @internal */
  _countFailure (kind: InterceptorFailureKind): void { this.#failures[kind]++ }

  /** @internal One JS run: a slot from the pool, the run, the slot back (or reset, or disposed). */
  async _runJs (state: JsState, inputText: string, ctxText: string): Promise<SlotOutcome> {
    // Fast path: an idle warm slot, without a promise hop.
    const idle = this.#closed ? undefined : state.idle.pop()
    if (idle !== undefined) idle.busy = true
    const slot = idle ?? await this.#acquire(state)
    let outcome: SlotOutcome
    try {
      outcome = await slot.run(inputText, ctxText, state.phase === 'request', state.limits)
    } catch (err) {
      outcome = { ok: false, kind: 'runtime', detail: `failed in the sandbox: ${(err as Error).message}`, fatal: true }
    }
    if (outcome.ok) {
      this.#releaseSlot(state, slot)
    } else if (outcome.fatal) {
      this.#rebuilds++
      slot.dispose()
      this.#releaseSlot(state, slot)
      // A replacement warms up in the background, so the next run does not pay for it.
      if (!state.released && !this.#closed && state.waiters.length === 0) setImmediate(() => this.#warmUp(state))
    } else if (state.released) {
      slot.dispose()
      this.#releaseSlot(state, slot)
    } else {
      // Nothing of a failed run may survive into the next one: a new context first.
      this.#rebuilds++
      slot.reset(state.code, state.cache).then(ok => {
        if (!ok) slot.dispose()
        this.#releaseSlot(state, slot)
      }, () => { slot.dispose(); this.#releaseSlot(state, slot) })
    }
    return outcome
  }

  #acquire (state: JsState): Promise<JsSlot> {
    if (this.#closed) return Promise.reject({ kind: 'runtime', detail: 'was not run: the interceptor runtime is shut down' })
    const idle = state.idle.pop()
    if (idle !== undefined) {
      idle.busy = true
      return Promise.resolve(idle)
    }
    if (state.slots.size + state.building < state.perInterceptor && (this.#total < this.#maxIsolates || this.#evictIdle(state))) {
      return this.#build(state)
    }
    if (state.waiters.length >= this.#maxQueued) {
      return Promise.reject({ kind: 'timeout', detail: `was not run: ${state.waiters.length} runs are already waiting for its ${state.perInterceptor} isolate(s)` })
    }
    const waitMs = 10 * state.limits.timeoutMs + 1000
    return new Promise<JsSlot>((resolve, reject) => {
      const waiter: Waiter = {
        resolve, reject, settled: false,
        timer: setTimeout(() => {
          const i = state.waiters.indexOf(waiter)
          if (i >= 0) state.waiters.splice(i, 1)
          if (state.waiters.length === 0) this.#waiting.delete(state)
          this.#rejectWaiter(waiter, { kind: 'timeout', detail: `timed out after waiting ${waitMs} ms for a free isolate` })
        }, waitMs)
      }
      state.waiters.push(waiter)
      this.#waiting.add(state)
    })
  }

  #rejectWaiter (w: Waiter, err: { kind: InterceptorFailureKind, detail: string }): void {
    if (w.settled) return
    w.settled = true
    clearTimeout(w.timer)
    w.reject(err)
  }

  #nextWaiter (state: JsState): Waiter | undefined {
    let w = state.waiters.shift()
    while (w !== undefined && w.settled) w = state.waiters.shift()
    if (state.waiters.length === 0) this.#waiting.delete(state)
    return w
  }

  async #build (state: JsState): Promise<JsSlot> {
    this.#total++
    state.building++
    this.#live.add(state)
    let slot: JsSlot
    try {
      slot = await JsSlot.create(state.code, state.limits, state.cache)
    } catch (err) {
      this.#total--
      state.building--
      if (state.slots.size === 0 && state.building === 0) this.#live.delete(state)
      this.#pump()
      throw { kind: 'runtime', detail: `could not start its sandbox: ${(err as Error).message}` }
    }
    state.building--
    state.slots.add(slot)
    slot.busy = true
    if (this.#closed) {
      slot.dispose()
      this.#forget(state, slot)
      throw { kind: 'runtime', detail: 'was not run: the interceptor runtime is shut down' }
    }
    return slot
  }

  #warmUp (state: JsState): void {
    if (this.#closed || state.released || state.slots.size + state.building > 0 || this.#total >= this.#maxIsolates) return
    this.#build(state).then(slot => this.#releaseSlot(state, slot), () => {})
  }

  #releaseSlot (state: JsState, slot: JsSlot): void {
    slot.busy = false
    slot.lastUsed = performance.now()
    if (slot.disposed || this.#closed) {
      slot.dispose()
      this.#forget(state, slot)
      this.#pump()
      return
    }
    const w = this.#nextWaiter(state)
    if (w !== undefined) {
      w.settled = true
      clearTimeout(w.timer)
      slot.busy = true
      w.resolve(slot)
      return
    }
    if (state.released || this.#someoneElseNeedsRoom(state)) {
      // Forgotten interceptor, or another one waits for room: this isolate goes.
      slot.dispose()
      this.#forget(state, slot)
      this.#pump()
      return
    }
    state.idle.push(slot)
  }

  /** At the isolate budget, another interceptor has runs waiting that an isolate could serve. */
  #someoneElseNeedsRoom (except: JsState): boolean {
    if (this.#total < this.#maxIsolates) return false
    for (const s of this.#waiting) {
      if (s !== except && s.waiters.length > s.building && s.slots.size + s.building < s.perInterceptor) return true
    }
    return false
  }

  #forget (state: JsState, slot: JsSlot): void {
    if (!state.slots.delete(slot)) return
    const i = state.idle.indexOf(slot)
    if (i >= 0) state.idle.splice(i, 1)
    this.#total--
    if (state.slots.size === 0 && state.building === 0) this.#live.delete(state)
  }

  /** Room was made: build isolates for runs that wait. */
  #pump (): void {
    if (this.#closed) return
    for (const state of [...this.#waiting]) {
      while (state.waiters.length > state.building &&
        state.slots.size + state.building < state.perInterceptor &&
        (this.#total < this.#maxIsolates || this.#evictIdle(state))) {
        this.#build(state).then(slot => this.#releaseSlot(state, slot), (err: { kind: InterceptorFailureKind, detail: string }) => {
          const w = this.#nextWaiter(state)
          if (w !== undefined) this.#rejectWaiter(w, err)
        })
      }
    }
  }

  /** Disposes the least recently used idle isolate of another interceptor; false if there is none. */
  #evictIdle (except: JsState): boolean {
    let victim: { state: JsState, slot: JsSlot } | undefined
    for (const state of this.#live) {
      if (state === except) continue
      const slot = state.idle[0]
      if (slot !== undefined && (victim === undefined || slot.lastUsed < victim.slot.lastUsed)) victim = { state, slot }
    }
    if (victim === undefined) return false
    victim.slot.dispose()
    this.#forget(victim.state, victim.slot)
    return true
  }

  #releaseState (state: JsState): void {
    state.released = true
    for (const slot of [...state.idle]) { slot.dispose(); this.#forget(state, slot) }
    this.#pump()
  }
}
