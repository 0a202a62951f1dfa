// Import into the stored config: read the document, plan the upsert, apply the whole result through
// the normal atomic apply (validation, secret sealing, full compile) — or only check it (dry run).
import { editDocument } from '../config/edit.ts'
import { readDocument, type ApplyOptions } from '../config/store.ts'
import { validateDocument } from '../config/validate.ts'
import type { KeyRing } from '../crypto/keyring.ts'
import type { Db } from '../db/index.ts'
import { planImport, readOpenApi, type ImportOptions, type ImportPlan, type OpenApiSource } from './index.ts'

export interface RunImportOptions extends ImportOptions {
  dryRun?: boolean
  maxBytes: number
}

export interface ImportOutcome {
  plan: ImportPlan
  /** The config version the import applied (absent on a dry run). */
  configVersion?: number
}

export async function runImport (
  db: Db, keyRing: KeyRing, workspaceId: string, source: OpenApiSource, options: RunImportOptions, apply: ApplyOptions
): Promise<ImportOutcome> {
  const loaded = await readOpenApi(source, options.maxBytes)
  if (options.dryRun) {
    const { document } = await readDocument(db, workspaceId)
    const plan = planImport(document, loaded, options)
    validateDocument(document) // the same checks an apply makes first; nothing is written
    return { plan }
  }
  const { version, value } = await editDocument(db, keyRing, workspaceId, apply, doc => planImport(doc, loaded, options))
  return { plan: value, configVersion: version }
}
