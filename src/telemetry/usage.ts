// Usage aggregates: per server × tool × hour, counted in memory on the call path and flushed as
// upserts that add to the stored row. Names, counts, sizes and timings only: never an argument,
// a body, a header, an API key or a client address. See docs/ARCHITECTURE.md ("Usage telemetry").
import { sql, type Transaction } from 'kysely'
import type { Db } from '../db/index.ts'
import type { Database } from '../db/types.ts'

/** Upper bounds (ms) of the latency buckets; one more bucket holds everything slower. Never reorder: stored rows index them. */
export const LATENCY_BOUNDS_MS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000]
export const BUCKET_COUNT = LATENCY_BOUNDS_MS.length + 1

const HOUR_MS = 3_600_000
const ROWS_PER_STATEMENT = 1000
/** Distinct end users remembered per row and hour; past it the count stops growing (documented). */
const MAX_USERS_PER_ROW = 100_000

/** What one tool call reports: names and numbers. */
export interface CallUsage {
  server: string
  tool: string
  /** The calling end user (internal id): only counted, kept in memory for the current hour. */
  endUserId: string | null
  /** Set when the call failed: a short kind (`upstream_status`, `invalid_arguments`, `rpc_error`, …). */
  errorKind: string | undefined
  totalMs: number
  /** Time spent in the upstream exchange, when there was one. */
  upstreamMs: number | undefined
  bytesFromUpstream: number
  bytesToClient: number
}

interface Row {
  hour: number
  server: string
  tool: string
  calls: number
  errors: number
  errorsByKind: Record<string, number>
  buckets: number[]
  totalMs: number
  upstreamCalls: number
  upstreamMs: number
  bytesFromUpstream: number
  bytesToClient: number
  endUsers: number
}

interface Users {
  hour: number
  ids: Set<string>
  /** How many of `ids` are already in the stored row. */
  reported: number
}

export interface UsageRecorderOptions {
  db: Db
  workspaceId: string
  /** ms since the epoch. */
  clock?: () => number
  /** 0: no timer (flush by hand). */
  flushMs: number
  /** Rows kept across failed flushes before the oldest are dropped. */
  maxPendingRows?: number
  onError?: (err: Error) => void
}

export function bucketIndex (ms: number): number {
  // A short linear scan over 15 numbers: cheaper than anything clever at this size.
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return i
  return LATENCY_BOUNDS_MS.length
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram over LATENCY_BOUNDS_MS, interpolated linearly inside
 * its bucket (the first bucket starts at 0; the overflow bucket answers its lower bound). null
 * when empty.
 */
export function percentile (buckets: readonly number[], q: number): number | null {
  let total = 0
  for (const count of buckets) total += count
  if (total === 0) return null
  const rank = q * total
  let seen = 0
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!
    if (count === 0) continue
    if (seen + count >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!
      if (i >= LATENCY_BOUNDS_MS.length) return lower
      const upper = LATENCY_BOUNDS_MS[i]!
      return lower + (upper - lower) * Math.max(0, rank - seen) / count
    }
    seen += count
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!
}

function newRow (hour: number, server: string, tool: string): Row {
  return { hour, server, tool, calls: 0, errors: 0, errorsByKind: {}, buckets: new Array<number>(BUCKET_COUNT).fill(0), totalMs: 0, upstreamCalls: 0, upstreamMs: 0, bytesFromUpstream: 0, bytesToClient: 0, endUsers: 0 }
}

function addInto (into: Row, from: Row): void {
  into.calls += from.calls
  into.errors += from.errors
  for (const [kind, count] of Object.entries(from.errorsByKind)) into.errorsByKind[kind] = (into.errorsByKind[kind] ?? 0) + count
  for (let i = 0; i < BUCKET_COUNT; i++) into.buckets[i]! += from.buckets[i]!
  into.totalMs += from.totalMs
  into.upstreamCalls += from.upstreamCalls
  into.upstreamMs += from.upstreamMs
  into.bytesFromUpstream += from.bytesFromUpstream
  into.bytesToClient += from.bytesToClient
  into.endUsers += from.endUsers
}

/** The billing period of an instant: `YYYY-MM` (UTC). */
export function monthStart (ms: number): string {
  const date = new Date(ms)
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`
}

export class UsageRecorder {
  private readonly db: Db
  private readonly workspaceId: string
  private readonly clock: () => number
  private readonly maxPendingRows: number
  private readonly onError: (err: Error) => void
  /** Counts not yet stored: hour|server|tool → row. */
  private pending = new Map<string, Row>()
  /** End users seen this hour, per row key (kept across flushes so a user is counted once per hour). */
  private readonly users = new Map<string, Users>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  /** Rows dropped because flushes kept failing (their counts are lost). */
  droppedRows = 0

  constructor (options: UsageRecorderOptions) {
    this.db = options.db
    this.workspaceId = options.workspaceId
    this.clock = options.clock ?? Date.now
    this.maxPendingRows = options.maxPendingRows ?? 10_000
    this.onError = options.onError ?? (() => {})
    if (options.flushMs > 0) {
      this.timer = setInterval(() => { this.flush().catch(() => {}) }, options.flushMs)
      this.timer.unref()
    }
  }

  /** One finished tool call. Synchronous, a few Map and number updates. */
  record (call: CallUsage): void {
    const hour = Math.floor(this.clock() / HOUR_MS) * HOUR_MS
    const key = `${hour}\u0000${call.server}\u0000${call.tool}`
    let row = this.pending.get(key)
    if (!row) {
      row = newRow(hour, call.server, call.tool)
      this.pending.set(key, row)
    }
    row.calls++
    if (call.errorKind !== undefined) {
      row.errors++
      row.errorsByKind[call.errorKind] = (row.errorsByKind[call.errorKind] ?? 0) + 1
    }
    row.buckets[bucketIndex(call.totalMs)]!++
    row.totalMs += call.totalMs
    if (call.upstreamMs !== undefined) {
      row.upstreamCalls++
      row.upstreamMs += call.upstreamMs
    }
    row.bytesFromUpstream += call.bytesFromUpstream
    row.bytesToClient += call.bytesToClient
    if (call.endUserId) {
      let users = this.users.get(key)
      if (!users) {
        users = { hour, ids: new Set(), reported: 0 }
        this.users.set(key, users)
      }
      if (users.ids.size < MAX_USERS_PER_ROW) users.ids.add(call.endUserId)
    }
  }

  /** Rows waiting to be stored (for tests and the bound). */
  get pendingRows (): number {
    return this.pending.size
  }

  /**
   * Stores what was counted since the last flush, adding it to the stored rows. On failure the
   * counts go back into memory for the next try (the oldest rows dropped past maxPendingRows).
   * Concurrent callers share one flush.
   */
  async flush (): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => {})
    this.flushing = this.flushOnce().finally(() => { this.flushing = undefined })
    return this.flushing
  }

  private async flushOnce (): Promise<void> {
    const now = this.clock()
    const currentHour = Math.floor(now / HOUR_MS) * HOUR_MS
    const batch = this.pending
    this.pending = new Map()
    const reported = new Map<Users, number>()
    for (const [key, row] of batch) {
      const users = this.users.get(key)
      if (users) {
        row.endUsers = users.ids.size - users.reported
        reported.set(users, users.ids.size)
      }
    }
    const rows = [...batch.values()]
    try {
      if (rows.length > 0) await this.write(rows)
      for (const [users, size] of reported) users.reported = size
    } catch (err) {
      for (const row of rows) row.endUsers = 0
      this.restore(batch)
      this.onError(err as Error)
      throw err
    } finally {
      // Past hours are done: their users can go (a late call of a past hour starts a new set).
      for (const [key, users] of this.users) if (users.hour < currentHour && users.reported === users.ids.size) this.users.delete(key)
    }
  }

  private restore (batch: Map<string, Row>): void {
    for (const [key, row] of batch) {
      const newer = this.pending.get(key)
      if (newer) addInto(newer, row)
      else this.pending.set(key, row)
    }
    if (this.pending.size <= this.maxPendingRows) return
    const oldest = [...this.pending.entries()].sort((a, b) => a[1].hour - b[1].hour)
    for (const [key] of oldest.slice(0, this.pending.size - this.maxPendingRows)) {
      this.pending.delete(key)
      this.users.delete(key)
      this.droppedRows++
    }
  }

  private async write (rows: Row[]): Promise<void> {
    const months = new Map<string, number>()
    for (const row of rows) months.set(monthStart(row.hour), (months.get(monthStart(row.hour)) ?? 0) + row.calls)
    await this.db.transaction().execute(async trx => {
      // Chunks keep each statement under Postgres' 65535 bind parameters (14 per row).
      for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
        await this.upsertRows(trx, rows.slice(start, start + ROWS_PER_STATEMENT))
      }
      for (const [period, calls] of months) {
        await trx.insertInto('billing_periods').values({ workspace_id: this.workspaceId, period, calls })
          .onConflict(oc => oc.columns(['workspace_id', 'period']).doUpdateSet({ calls: sql`billing_periods.calls + excluded.calls` }))
          .execute()
      }
    })
  }

  private async upsertRows (trx: Transaction<Database>, rows: Row[]): Promise<void> {
    await trx.insertInto('usage').values(rows.map(row => ({
      workspace_id: this.workspaceId,
      server: row.server,
      tool: row.tool,
      hour: new Date(row.hour),
      calls: row.calls,
      errors: row.errors,
      errors_by_kind: JSON.stringify(row.errorsByKind),
      latency_buckets: row.buckets,
      total_ms: row.totalMs,
      upstream_calls: row.upstreamCalls,
      upstream_ms: row.upstreamMs,
      bytes_from_upstream: row.bytesFromUpstream,
      bytes_to_client: row.bytesToClient,
      end_users: row.endUsers
    }))).onConflict(oc => oc.columns(['workspace_id', 'server', 'tool', 'hour']).doUpdateSet({
      calls: sql`usage.calls + excluded.calls`,
      errors: sql`usage.errors + excluded.errors`,
      errors_by_kind: sql`(select coalesce(jsonb_object_agg(k, n), '{}'::jsonb) from (select k, sum(v::bigint) as n from (select * from jsonb_each_text(usage.errors_by_kind) union all select * from jsonb_each_text(excluded.errors_by_kind)) as e(k, v) group by k) as s)`,
      latency_buckets: sql`(select array_agg(coalesce(a, 0) + coalesce(b, 0) order by i) from unnest(usage.latency_buckets, excluded.latency_buckets) with ordinality as h(a, b, i))`,
      total_ms: sql`usage.total_ms + excluded.total_ms`,
      upstream_calls: sql`usage.upstream_calls + excluded.upstream_calls`,
      upstream_ms: sql`usage.upstream_ms + excluded.upstream_ms`,
      bytes_from_upstream: sql`usage.bytes_from_upstream + excluded.bytes_from_upstream`,
      bytes_to_client: sql`usage.bytes_to_client + excluded.bytes_to_client`,
      end_users: sql`usage.end_users + excluded.end_users`
    })).execute()
  }

  /** Stops the timer and stores what is left (graceful shutdown). */
  async close (): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
  }
}

/** A stored row, as the usage API reads it: the counted fields, with the hour as a start time. */
export interface UsageRow extends Omit<Row, 'hour'> {
  start: Date
}

export interface UsageQuery {
  server?: string
  tool?: string
  from: Date
  to: Date
  bucket: 'hour' | 'day'
}

/** Hourly rows in [from, to), merged into day buckets (UTC) when asked. */
export async function readUsage (db: Db, workspaceId: string, query: UsageQuery): Promise<Array<UsageRow & { peakHourEndUsers: number }>> {
  let select = db.selectFrom('usage').selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('hour', '>=', query.from)
    .where('hour', '<', query.to)
  if (query.server !== undefined) select = select.where('server', '=', query.server)
  if (query.tool !== undefined) select = select.where('tool', '=', query.tool)
  const stored = await select.orderBy('hour').orderBy('server').orderBy('tool').execute()
  const out = new Map<string, UsageRow & { peakHourEndUsers: number }>()
  for (const row of stored) {
    const hour = new Date(row.hour).getTime()
    const start = query.bucket === 'day' ? Math.floor(hour / (24 * HOUR_MS)) * 24 * HOUR_MS : hour
    const key = `${start}\u0000${row.server}\u0000${row.tool}`
    let into = out.get(key)
    if (!into) {
      into = { server: row.server, tool: row.tool, start: new Date(start), calls: 0, errors: 0, errorsByKind: {}, buckets: new Array<number>(BUCKET_COUNT).fill(0), totalMs: 0, upstreamCalls: 0, upstreamMs: 0, bytesFromUpstream: 0, bytesToClient: 0, endUsers: 0, peakHourEndUsers: 0 }
      out.set(key, into)
    }
    into.calls += Number(row.calls)
    into.errors += Number(row.errors)
    for (const [kind, count] of Object.entries(row.errors_by_kind)) into.errorsByKind[kind] = (into.errorsByKind[kind] ?? 0) + Number(count)
    row.latency_buckets.forEach((count, i) => { if (i < BUCKET_COUNT) into.buckets[i]! += Number(count) })
    into.totalMs += row.total_ms
    into.upstreamCalls += Number(row.upstream_calls)
    into.upstreamMs += row.upstream_ms
    into.bytesFromUpstream += Number(row.bytes_from_upstream)
    into.bytesToClient += Number(row.bytes_to_client)
    into.endUsers += row.end_users
    into.peakHourEndUsers = Math.max(into.peakHourEndUsers, row.end_users)
  }
  return [...out.values()]
}

export async function readBilling (db: Db, workspaceId: string): Promise<Array<{ period: string, calls: number }>> {
  const rows = await db.selectFrom('billing_periods').select(['period', 'calls']).where('workspace_id', '=', workspaceId).orderBy('period', 'desc').execute()
  return rows.map(row => ({ period: row.period, calls: Number(row.calls) }))
}

/** What the MCP route knows of a finished tools/call (see src/mcp/dispatch.ts `DispatchContext.call`). */
export interface FinishedCall {
  tool: string
  outcome?: { upstreamStatus?: number, upstreamBytes: number, upstreamMs: number, errorKind?: string, intercepted?: { bytesAfter: number } }
  interceptorFailure?: unknown
}

/**
 * Records one tools/call. `thrown`: 'rpc_error' or 'internal' when dispatch threw; `result`: what
 * it returned (an MCP upstream's isError result counts as a `tool_error`). api calls bring their
 * CallOutcome (bytes, upstream time, error kind); MCP upstream calls have calls, errors and time.
 */
export function recordCall (usage: UsageRecorder, server: string, endUserId: string | null, call: FinishedCall, totalMs: number, thrown: string | undefined, result: unknown): void {
  const outcome = call.outcome
  let errorKind = thrown ?? outcome?.errorKind
  if (errorKind === undefined && call.interceptorFailure) errorKind = 'interceptor'
  if (errorKind === undefined && (result as { isError?: unknown } | undefined)?.isError === true) errorKind = 'tool_error'
  usage.record({
    server,
    tool: call.tool,
    endUserId,
    errorKind,
    totalMs,
    upstreamMs: outcome && (outcome.upstreamStatus !== undefined || outcome.upstreamMs > 0) ? outcome.upstreamMs : undefined,
    bytesFromUpstream: outcome?.upstreamBytes ?? 0,
    bytesToClient: outcome ? (outcome.intercepted?.bytesAfter ?? outcome.upstreamBytes) : 0
  })
}
