// Whether this process's workspace is active, waiting out a deletion's grace period, or purged.
// Held in memory (the MCP and admin gates read one property per request), loaded at start and
// reloaded when any replica NOTIFYs WORKSPACE_CHANNEL after a delete, restore or purge.
import { EventEmitter } from 'node:events'
import type { Db } from '../db/index.ts'

export const WORKSPACE_CHANNEL = 'toolgate_workspace'

export type WorkspaceStatus = 'active' | 'pending_deletion' | 'purged'

export interface WorkspaceSnapshot {
  status: WorkspaceStatus
  deletionRequestedAt: Date | null
  purgeAt: Date | null
}

export async function readWorkspaceStatus (db: Db, workspaceId: string): Promise<WorkspaceSnapshot> {
  const row = await db.selectFrom('workspaces').select(['deletion_requested_at', 'purge_at']).where('id', '=', workspaceId).executeTakeFirst()
  if (!row) return { status: 'purged', deletionRequestedAt: null, purgeAt: null }
  return { status: row.purge_at ? 'pending_deletion' : 'active', deletionRequestedAt: row.deletion_requested_at, purgeAt: row.purge_at }
}

export class WorkspaceState extends EventEmitter<{ changed: [WorkspaceSnapshot] }> {
  #current: WorkspaceSnapshot
  readonly #db: Db
  readonly #workspaceId: string

  constructor (db: Db, workspaceId: string, initial: WorkspaceSnapshot) {
    super()
    this.#db = db
    this.#workspaceId = workspaceId
    this.#current = initial
  }

  static async load (db: Db, workspaceId: string): Promise<WorkspaceState> {
    return new WorkspaceState(db, workspaceId, await readWorkspaceStatus(db, workspaceId))
  }

  get workspaceId (): string {
    return this.#workspaceId
  }

  get current (): WorkspaceSnapshot {
    return this.#current
  }

  /** True while the workspace serves calls and edits. */
  get active (): boolean {
    return this.#current.status === 'active'
  }

  /** Re-reads the row (after a NOTIFY, or a local change). A purge is final: nothing brings it back. */
  async reload (): Promise<WorkspaceSnapshot> {
    this.set(await readWorkspaceStatus(this.#db, this.#workspaceId))
    return this.#current
  }

  set (next: WorkspaceSnapshot): void {
    if (this.#current.status === 'purged') return
    const previous = this.#current
    this.#current = next
    if (previous.status !== next.status || previous.purgeAt?.getTime() !== next.purgeAt?.getTime()) this.emit('changed', next)
  }
}
