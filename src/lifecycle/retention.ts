// Aggregated usage and billing counts are kept 6 years (DESIGN promise 6), then removed. Rows of
// purged workspaces age out the same way.
import type { Db } from '../db/index.ts'
import { monthStart } from '../telemetry/usage.ts'

export const USAGE_RETENTION_YEARS = 6

/** The oldest hour kept: `now` minus 6 years (UTC calendar). */
export function retentionCutoff (now: Date): Date {
  const cutoff = new Date(now.getTime())
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - USAGE_RETENTION_YEARS)
  return cutoff
}

/**
 * Deletes usage hours that started before the cutoff, and billing months that ended before it
 * (the month holding the cutoff is kept whole).
 */
export async function removeExpiredUsage (db: Db, now: Date = new Date()): Promise<{ usage: number, billingPeriods: number }> {
  const cutoff = retentionCutoff(now)
  const usage = await db.deleteFrom('usage').where('hour', '<', cutoff).executeTakeFirst()
  const billing = await db.deleteFrom('billing_periods').where('period', '<', monthStart(cutoff.getTime())).executeTakeFirst()
  return { usage: Number(usage.numDeletedRows), billingPeriods: Number(billing.numDeletedRows) }
}
