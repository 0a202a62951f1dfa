// Workspaces: every row belongs to one. The first start creates `default`.
import type { Db } from './index.ts'

export const DEFAULT_WORKSPACE = 'default'

export async function ensureWorkspace (db: Db, name = DEFAULT_WORKSPACE): Promise<string> {
  await db.insertInto('workspaces').values({ name }).onConflict(oc => oc.column('name').doNothing()).execute()
  const row = await db.selectFrom('workspaces').select('id').where('name', '=', name).executeTakeFirstOrThrow()
  return row.id
}

export async function configVersion (db: Db, workspaceId: string): Promise<number> {
  const row = await db.selectFrom('workspaces').select('config_version').where('id', '=', workspaceId).executeTakeFirstOrThrow()
  return Number(row.config_version)
}
