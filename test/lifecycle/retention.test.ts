// Aggregated usage is kept 6 years: the retention removes hours and billing months older than
// that, for every workspace (purged ones too), and keeps the rest.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Db } from '../../src/db/index.ts'
import { removeExpiredUsage, retentionCutoff } from '../../src/lifecycle/retention.ts'
import { BUCKET_COUNT } from '../../src/telemetry/usage.ts'
import { freshDatabase } from '../helpers/database.ts'
import { openTestDb, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

t.test('usage older than 6 years is removed', async t => {
  const db = openTestDb(await freshDatabase()).db as Db
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  const now = new Date('2032-05-15T10:30:00Z')
  t.equal(retentionCutoff(now).toISOString(), '2026-05-15T10:30:00.000Z')
  const live = randomUUID()
  const purged = randomUUID() // no workspaces row: a purged workspace's aggregates
  const row = (workspaceId: string, hour: string) => ({ workspace_id: workspaceId, server: 's', tool: 't', hour, calls: 1, latency_buckets: new Array<number>(BUCKET_COUNT).fill(0), errors_by_kind: '{}', total_ms: 0, upstream_ms: 0, end_users: 0 })
  await db.insertInto('usage').values([
    row(live, '2026-05-15T09:00:00Z'), // before the cutoff
    row(live, '2026-05-15T11:00:00Z'),
    row(purged, '2020-01-01T00:00:00Z'),
    row(purged, '2031-01-01T00:00:00Z')
  ]).execute()
  await db.insertInto('billing_periods').values([
    { workspace_id: live, period: '2026-04', calls: 1 },
    { workspace_id: live, period: '2026-05', calls: 1 }, // holds the cutoff: kept whole
    { workspace_id: purged, period: '2019-12', calls: 1 },
    { workspace_id: purged, period: '2032-05', calls: 1 }
  ]).execute()
  t.same(await removeExpiredUsage(db, now), { usage: 2, billingPeriods: 2 })
  const hours = (await db.selectFrom('usage').select(['hour']).orderBy('hour').execute()).map(r => new Date(r.hour).toISOString())
  t.same(hours, ['2026-05-15T11:00:00.000Z', '2031-01-01T00:00:00.000Z'])
  const periods = (await db.selectFrom('billing_periods').select('period').orderBy('period').execute()).map(r => r.period)
  t.same(periods, ['2026-05', '2032-05'])
  t.same(await removeExpiredUsage(db, now), { usage: 0, billingPeriods: 0 }, 'idempotent')
})
