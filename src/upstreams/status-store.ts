// Writes an upstream's connection status (and when it last connected) to its `servers` row, for
// the admin API. Writes of one server are applied in order; a failed write is logged, not thrown:
// the connection matters more than its bookkeeping. The row is found by name and kind, so a
// status never lands on a server that was replaced by one of another kind.
//
// Each replica writes what it sees; the row shows the latest report of any replica.
import type { Logger } from 'pino'
import type { Db } from '../db/index.ts'
import type { UpstreamStatus } from './types.ts'

export type StatusRecorder = (serverName: string, kind: 'remote-mcp' | 'stdio', status: UpstreamStatus, connectedAt: Date | undefined) => Promise<void>

export function createStatusRecorder (db: Db, workspaceId: string, logger: Logger): StatusRecorder {
  const chains = new Map<string, Promise<void>>()
  return (serverName, kind, status, connectedAt) => {
    const previous = chains.get(serverName) ?? Promise.resolve()
    const next = previous.then(async () => {
      await db.updateTable('servers')
        .set({ status, ...(connectedAt ? { last_connected_at: connectedAt } : {}) })
        .where('workspace_id', '=', workspaceId).where('name', '=', serverName).where('kind', '=', kind)
        .execute()
    }).catch(err => {
      logger.warn({ server: serverName, err: { message: (err as Error).message } }, 'recording upstream status failed')
    })
    chains.set(serverName, next)
    next.finally(() => { if (chains.get(serverName) === next) chains.delete(serverName) }).catch(() => {})
    return next
  }
}
