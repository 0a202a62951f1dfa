// What the admin API shows of a remote-mcp / stdio server beyond its config: the connection
// status its upstream reported (deploying/running/crashed/stopped) and when it last connected.
import type { Db } from '../../../db/index.ts'

export interface ServerState {
  status: string
  lastConnectedAt: string | null
}

export async function serverStates (db: Db, workspaceId: string): Promise<Map<string, ServerState>> {
  const rows = await db.selectFrom('servers').select(['name', 'status', 'last_connected_at'])
    .where('workspace_id', '=', workspaceId).execute()
  return new Map(rows.map(row => [row.name, { status: row.status, lastConnectedAt: row.last_connected_at?.toISOString() ?? null }]))
}
