// Which signed session ids were ended by DELETE, on every replica: written to Postgres (so a
// replica starting later knows them) and announced with NOTIFY (so running replicas learn at once).
// Checked per request from memory only; the hot path never queries the database.
import { sql } from 'kysely'
import type { Db } from '../db/index.ts'

export const SESSIONS_CHANNEL = 'toolgate_sessions'

export class SessionTerminations {
  private readonly db: Db
  /** session id → expiry (ms); expired entries are dropped by `purge`. */
  private readonly ended = new Map<string, number>()

  constructor (db: Db) {
    this.db = db
  }

  /** Loads the terminations that have not expired (at start, and after a lost NOTIFY connection). */
  async load (): Promise<void> {
    const rows = await this.db.selectFrom('mcp_session_terminations').select(['session_id', 'expires_at'])
      .where('expires_at', '>', sql<Date>`now()`).execute()
    for (const row of rows) this.ended.set(row.session_id, row.expires_at.getTime())
  }

  isTerminated (sessionId: string): boolean {
    return this.ended.has(sessionId)
  }

  /** Ends a session everywhere. Resolves once it is stored, so a later request on any replica sees it. */
  async terminate (sessionId: string, expiresAt: number): Promise<void> {
    this.ended.set(sessionId, expiresAt)
    await this.db.transaction().execute(async trx => {
      await trx.insertInto('mcp_session_terminations').values({ session_id: sessionId, expires_at: new Date(expiresAt) })
        .onConflict(oc => oc.column('session_id').doNothing()).execute()
      await sql`select pg_notify(${SESSIONS_CHANNEL}, ${`${sessionId} ${expiresAt}`})`.execute(trx)
    })
  }

  /** A NOTIFY from a replica (ours included). */
  onNotify (payload: string): void {
    const [sessionId, expiresAt] = payload.split(' ')
    if (sessionId && Number.isFinite(Number(expiresAt))) this.ended.set(sessionId, Number(expiresAt))
  }

  /** Forgets what has expired, here and in the table. */
  async purge (now = Date.now()): Promise<void> {
    for (const [id, expiresAt] of this.ended) if (expiresAt <= now) this.ended.delete(id)
    await this.db.deleteFrom('mcp_session_terminations').where('expires_at', '<=', new Date(now)).execute()
  }
}
