// GET /api/v1/usage: the usage series (hour or day buckets) with percentiles and savings.
// GET /api/v1/billing: calls per month, the baseline a billing system reads.
// Both flush this process's counts first, so a read sees its own replica's calls up to now.
import type { FastifyInstance } from 'fastify'
import { badRequest } from '../../../errors.ts'
import { percentile, readBilling, readUsage, type UsageRow } from '../../../telemetry/usage.ts'
import type { GatewayDeps } from '../../deps.ts'

const DAY_MS = 24 * 3_600_000
/** Longest range one read may cover. */
const MAX_RANGE_DAYS = 400

const querySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: { type: 'string', minLength: 1 },
    tool: { type: 'string', minLength: 1 },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    bucket: { type: 'string', enum: ['hour', 'day'] }
  }
} as const

interface Query { server?: string, tool?: string, from?: string, to?: string, bucket?: 'hour' | 'day' }

const round = (value: number) => Math.round(value * 100) / 100

function view (row: UsageRow & { peakHourEndUsers: number }, bucket: 'hour' | 'day') {
  return {
    start: row.start.toISOString(),
    server: row.server,
    tool: row.tool,
    calls: row.calls,
    errors: row.errors,
    errorsByKind: row.errorsByKind,
    latencyMs: {
      p50: nullable(percentile(row.buckets, 0.5)),
      p95: nullable(percentile(row.buckets, 0.95)),
      p99: nullable(percentile(row.buckets, 0.99)),
      mean: row.calls > 0 ? round(row.totalMs / row.calls) : null
    },
    totalMs: round(row.totalMs),
    upstreamMs: round(row.upstreamMs),
    upstreamCalls: row.upstreamCalls,
    bytesFromUpstream: row.bytesFromUpstream,
    bytesToClient: row.bytesToClient,
    savingsPercent: row.bytesFromUpstream > 0 ? round((1 - row.bytesToClient / row.bytesFromUpstream) * 100) : null,
    // Hour: distinct end users in that hour (per replica; see the README). Day: the sum of the
    // hours (user-hours) and the busiest hour, between which the day's distinct count lies.
    endUsers: bucket === 'hour' ? row.endUsers : row.peakHourEndUsers,
    ...(bucket === 'day' ? { endUserHours: row.endUsers } : {}),
    latencyBuckets: row.buckets
  }
}

function nullable (value: number | null): number | null {
  return value === null ? null : round(value)
}

export function usageRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  const flushFirst = async () => {
    await deps.usage?.flush().catch(err => app.log.warn({ err: { message: (err as Error).message } }, 'usage flush before read failed'))
  }

  app.get('/usage', { schema: { querystring: querySchema } }, async request => {
    const query = request.query as Query
    const to = query.to ? new Date(query.to) : new Date()
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - DAY_MS)
    if (from.getTime() >= to.getTime()) throw badRequest('from: must be before to')
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) throw badRequest(`from, to: at most ${MAX_RANGE_DAYS} days apart`)
    const bucket = query.bucket ?? 'hour'
    await flushFirst()
    const rows = await readUsage(deps.db, deps.workspaceId, { server: query.server, tool: query.tool, from, to, bucket })
    return { bucket, from: from.toISOString(), to: to.toISOString(), series: rows.map(row => view(row, bucket)) }
  })

  app.get('/billing', async () => {
    await flushFirst()
    const periods = await readBilling(deps.db, deps.workspaceId)
    const now = new Date()
    const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`
    return { current: { period: current, calls: periods.find(p => p.period === current)?.calls ?? 0 }, periods }
  })
}
