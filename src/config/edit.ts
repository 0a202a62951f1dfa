// Edits to one part of the config (the REST resources) go through the same path as a whole
// document: read the stored document, change it, apply it whole. One validator, one writer,
// atomic. A concurrent apply in between makes the edit retry on the fresh document.
import type { KeyRing } from '../crypto/keyring.ts'
import type { Db } from '../db/index.ts'
import { StaleVersionError } from '../errors.ts'
import type { ConfigDocument } from './document.ts'
import { applyDocument, readDocument, type ApplyOptions } from './store.ts'

export async function editDocument<T> (
  db: Db, keyRing: KeyRing, workspaceId: string, options: ApplyOptions,
  change: (doc: ConfigDocument) => T
): Promise<{ version: number, value: T }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { document, version } = await readDocument(db, workspaceId)
    const value = change(document)
    try {
      const next = await applyDocument(db, keyRing, workspaceId, document, { ...options, expectedVersion: version })
      return { version: next, value }
    } catch (err) {
      if (!(err instanceof StaleVersionError)) throw err
    }
  }
  throw new StaleVersionError()
}
