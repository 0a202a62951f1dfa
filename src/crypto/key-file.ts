// Where the key ring comes from: TOOLGATE_ENCRYPTION_KEYS, or a key generated once into the data
// dir (mode 0600) for the zero-setup default. Losing that file loses every sealed secret.
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { KeyRing } from './keyring.ts'

export const KEY_FILE_NAME = 'encryption.keys'

export async function loadKeyRing (spec: string | undefined, dataDir: string): Promise<{ keyRing: KeyRing, generatedFile?: string }> {
  if (spec) return { keyRing: KeyRing.parse(spec) }
  const file = join(dataDir, KEY_FILE_NAME)
  try {
    return { keyRing: KeyRing.parse((await readFile(file, 'utf8')).trim()) }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(dataDir, { recursive: true })
  const generated = KeyRing.generateSpec('k1')
  await writeFile(file, generated + '\n', { mode: 0o600, flag: 'wx' })
  await chmod(file, 0o600)
  return { keyRing: KeyRing.parse(generated), generatedFile: file }
}
