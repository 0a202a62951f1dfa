// The gateway refuses a key ring whose key ids match the database's but whose keys do not.
import t from 'tap'
import { checkKeyRing } from '../../src/crypto/key-check.ts'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { connectDb } from '../../src/db/index.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { freshDatabase, stopTestCluster } from '../helpers/database.ts'

t.teardown(stopTestCluster)

t.test('a key id reused for another key is refused; rotation is accepted', async t => {
  const { db } = connectDb(await freshDatabase(), 2)
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  const original = KeyRing.generateSpec('k1')
  await checkKeyRing(db, KeyRing.parse(original))
  await checkKeyRing(db, KeyRing.parse(original)) // same ring again: fine
  await t.rejects(checkKeyRing(db, KeyRing.parse(KeyRing.generateSpec('k1'))), /encryption key "k1" is not the key "k1" this database was sealed with/)
  const rotated = KeyRing.parse(`${KeyRing.generateSpec('k2')},${original}`)
  await checkKeyRing(db, rotated)
  const ids = (await db.selectFrom('encryption_keys').select('key_id').orderBy('key_id').execute()).map(r => r.key_id)
  t.same(ids, ['k1', 'k2'], 'both keys are registered')
  await t.rejects(checkKeyRing(db, KeyRing.parse(`${KeyRing.generateSpec('k2')},${original}`)), /"k2"/, 'the new key id is now bound too')
})
