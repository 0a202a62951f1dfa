// The audit log: who changed what and when. Never payloads, never addresses.
import type { Kysely } from 'kysely'
import type { Database } from '../db/types.ts'

export interface AuditEntry {
  workspaceId: string
  actor: string
  action: string
  target?: string
}

export async function recordAudit (db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db.insertInto('audit_log').values({
    workspace_id: entry.workspaceId,
    actor: entry.actor,
    action: entry.action,
    target: entry.target ?? null
  }).execute()
}
