// Where the key ring comes from: TOOLGATE_ENCRYPTION_KEYS, or a key generated once into the data
// dir (mode 0600) for the zero-setup default. Losing that file loses every sealed secret.
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { KeyRing, KeyRingError } from './keyring.ts'

export const KEY_FILE_NAME = 'encryption.keys'

export interface LoadKeyRingOptions {
  /** Generate the key file when missing (default). Off where a new key would not be the gateway's. */
  generate?: boolean
}

async function readKeyFile (file: string): Promise<KeyRing | undefined> {
  try {
    return KeyRing.parse((await readFile(file, 'utf8')).trim())
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return undefined
  }
}

export async function loadKeyRing (spec: string | undefined, dataDir: string, options: LoadKeyRingOptions = {}): Promise<{ keyRing: KeyRing, generatedFile?: string }> {
  if (spec) return { keyRing: KeyRing.parse(spec) }
  const file = join(dataDir, KEY_FILE_NAME)
  const existing = await readKeyFile(file)
  if (existing) return { keyRing: existing }
  if (options.generate === false) {
    throw new KeyRingError(`no encryption key: set TOOLGATE_ENCRYPTION_KEYS to the gateway's key ring (or point TOOLGATE_DATA_DIR at the data dir holding ${KEY_FILE_NAME})`)
  }
  await mkdir(dataDir, { recursive: true })
  const generated = KeyRing.generateSpec('k1')
  try {
    await writeFile(file, generated + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    // Another process (a replica or the CLI) created it first: use theirs, never overwrite a key.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return { keyRing: (await readKeyFile(file))! }
  }
  await chmod(file, 0o600)
  return { keyRing: KeyRing.parse(generated), generatedFile: file }
}
