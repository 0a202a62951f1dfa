// Refuses a key ring that does not match the keys this database has seen: a key id reused for a
// different key (e.g. a new key generated because the key file or TOOLGATE_ENCRYPTION_KEYS was
// missing) would seal secrets nobody else can open and make stored ones unreadable.
import type { Db } from '../db/index.ts'
import { KeyRingError, type KeyRing } from './keyring.ts'

export async function checkKeyRing (db: Db, keyRing: KeyRing): Promise<void> {
  const rows = () => db.selectFrom('encryption_keys').select(['key_id', 'fingerprint']).execute()
  const assertMatches = (known: Array<{ key_id: string, fingerprint: string }>) => {
    for (const row of known) {
      if (keyRing.hasKey(row.key_id) && keyRing.fingerprint(row.key_id) !== row.fingerprint) {
        throw new KeyRingError(`encryption key "${row.key_id}" is not the key "${row.key_id}" this database was sealed with: ` +
          'use the original key ring (TOOLGATE_ENCRYPTION_KEYS, or the encryption.keys file of the data dir that first used this database)')
      }
    }
  }
  assertMatches(await rows())
  await db.insertInto('encryption_keys')
    .values(keyRing.keyIds.map(id => ({ key_id: id, fingerprint: keyRing.fingerprint(id) })))
    .onConflict(oc => oc.column('key_id').doNothing()).execute()
  assertMatches(await rows()) // another process may have registered the id first
}
