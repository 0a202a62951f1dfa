// `toolgate keys rotate`: re-seals every sealed value under the key ring's active (first) key,
// online, in small batches, so that old keys can then be removed from the ring. Each batch is one
// transaction that locks its rows (a concurrent token refresh waits, or has already re-sealed the
// row under the active key itself). Plaintext exists only in memory, one batch at a time.
import { sql, type Transaction } from 'kysely'
import { providerSecretAad, variableAad } from '../config/store.ts'
import type { Db } from '../db/index.ts'
import type { Database } from '../db/types.ts'
import { stateAad } from '../oauth/flow.ts'
import { tokenAad } from '../oauth/vault.ts'
import { recordAudit } from '../telemetry/audit.ts'
import type { KeyRing } from './keyring.ts'

export interface RotationCounts {
  variables: number
  providerSecrets: number
  oauthTokens: number
  oauthStates: number
}

export interface RotationReport {
  activeKeyId: string
  resealed: RotationCounts
  /** Key ids still referenced by any sealed value after the run (empty: only the active key is in use). */
  keysInUse: string[]
}

export async function rotateSecrets (db: Db, keyRing: KeyRing, options: { batchSize?: number } = {}): Promise<RotationReport> {
  const active = keyRing.activeKeyId
  const limit = options.batchSize ?? 100
  const resealed: RotationCounts = { variables: 0, providerSecrets: 0, oauthTokens: 0, oauthStates: 0 }
  const reseal = (data: Buffer, keyId: string, aad: string) => keyRing.seal(keyRing.open({ keyId, data }, aad), aad)

  // One batch per transaction (its rows locked) until a batch comes back short: nothing sealed
  // with another key is left in that table.
  const inBatches = async (batch: (trx: Transaction<Database>) => Promise<number>): Promise<number> => {
    let total = 0
    for (;;) {
      const n = await db.transaction().execute(batch)
      total += n
      if (n < limit) return total
    }
  }

  resealed.variables = await inBatches(async trx => {
    const rows = await trx.selectFrom('variables').select(['id', 'workspace_id', 'name', 'sealed_value', 'key_id'])
      .where('kind', '=', 'SECRET').where('key_id', '<>', active).limit(limit).forUpdate().execute()
    for (const row of rows) {
      const sealed = reseal(row.sealed_value!, row.key_id!, variableAad(row.workspace_id, row.name))
      await trx.updateTable('variables').set({ sealed_value: sealed.data, key_id: sealed.keyId }).where('id', '=', row.id).execute()
    }
    return rows.length
  })
  resealed.providerSecrets = await inBatches(async trx => {
    const rows = await trx.selectFrom('providers').select(['id', 'workspace_id', 'name', 'oauth_client_secret', 'oauth_client_secret_key_id'])
      .where('oauth_client_secret', 'is not', null).where('oauth_client_secret_key_id', '<>', active).limit(limit).forUpdate().execute()
    for (const row of rows) {
      const sealed = reseal(row.oauth_client_secret!, row.oauth_client_secret_key_id!, providerSecretAad(row.workspace_id, row.name))
      await trx.updateTable('providers').set({ oauth_client_secret: sealed.data, oauth_client_secret_key_id: sealed.keyId }).where('id', '=', row.id).execute()
    }
    return rows.length
  })
  resealed.oauthTokens = await inBatches(async trx => {
    const rows = await trx.selectFrom('oauth_tokens').select(['id', 'workspace_id', 'end_user_id', 'provider', 'access_token', 'refresh_token', 'key_id'])
      .where('key_id', '<>', active).limit(limit).forUpdate().execute()
    for (const row of rows) {
      const access = reseal(row.access_token, row.key_id, tokenAad(row.workspace_id, row.end_user_id, row.provider, 'access_token'))
      const refresh = row.refresh_token ? reseal(row.refresh_token, row.key_id, tokenAad(row.workspace_id, row.end_user_id, row.provider, 'refresh_token')) : undefined
      await trx.updateTable('oauth_tokens').set({ access_token: access.data, refresh_token: refresh?.data ?? null, key_id: access.keyId }).where('id', '=', row.id).execute()
    }
    return rows.length
  })
  resealed.oauthStates = await inBatches(async trx => {
    const rows = await trx.selectFrom('oauth_states').select(['state_hash', 'code_verifier', 'key_id'])
      .where('code_verifier', 'is not', null).where('key_id', '<>', active).limit(limit).forUpdate().execute()
    for (const row of rows) {
      const sealed = reseal(row.code_verifier!, row.key_id!, stateAad(row.state_hash))
      await trx.updateTable('oauth_states').set({ code_verifier: sealed.data, key_id: sealed.keyId }).where('state_hash', '=', row.state_hash).execute()
    }
    return rows.length
  })

  const inUse = await sql<{ key_id: string }>`
    select key_id from variables where kind = 'SECRET'
    union select oauth_client_secret_key_id from providers where oauth_client_secret is not null
    union select key_id from oauth_tokens
    union select key_id from oauth_states where code_verifier is not null`.execute(db)
  const workspaces = await db.selectFrom('workspaces').select('id').execute()
  for (const workspace of workspaces) {
    await recordAudit(db, { workspaceId: workspace.id, actor: 'cli', action: 'keys.rotate', target: `key ${active}`, details: { ...resealed } })
  }
  return { activeKeyId: active, resealed, keysInUse: inUse.rows.map(row => row.key_id).filter(id => id !== null).sort() }
}
