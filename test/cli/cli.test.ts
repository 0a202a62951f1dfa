// The `toolgate` command, run for real as a child process: help, usage errors, keygen, migrate.
import t from 'tap'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { MIGRATIONS_DIR, migrateToLatest, migrationsApplied } from '../../src/db/migrate.ts'
import { cliSetup, runCli } from '../helpers/cli.ts'
import { freshDatabase } from '../helpers/database.ts'
import { openTestDb, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)
// Child processes (each a Node start) are slow on a busy machine: a ceiling, not an expectation.
t.setTimeout(120_000)

t.test('--help, usage errors and keygen (no database needed)', async t => {
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-cli-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  // A database URL nobody listens on: these commands must not need one.
  const env = { DATABASE_URL: 'postgres://nobody:x@127.0.0.1:9/none', TOOLGATE_DATA_DIR: dataDir }
  const [help, short, unknown, noFile, first, second] = await Promise.all([
    runCli(['--help'], env), runCli(['-h'], env), runCli(['frobnicate'], env), runCli(['apply'], env), runCli(['keygen'], env), runCli(['keygen'], env)
  ])
  t.equal(help.code, 0)
  for (const command of ['serve', 'migrate', 'apply -f <file>', 'export', 'api-keys create', 'api-keys list', 'api-keys revoke', 'admin-token reset', 'keygen']) {
    t.ok(help.stdout.includes(command), `--help lists ${command}`)
  }
  t.equal(short.stdout, help.stdout, '-h is --help')
  t.equal(unknown.code, 2, 'an unknown command exits 2')
  t.match(unknown.stderr, 'unknown command "frobnicate"')
  t.equal(noFile.code, 2, 'a missing option exits 2')
  t.match(noFile.stderr, 'apply needs -f <file>')

  t.equal(first.code, 0)
  const spec = first.stdout.trim()
  t.match(spec, /^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=$/, 'keygen prints <id>:<base64 32 bytes>')
  const ring = KeyRing.parse(spec)
  t.equal(ring.openText(ring.seal('x', 'aad'), 'aad'), 'x', 'the key seals and opens')
  t.not(spec.split(':')[1], second.stdout.trim().split(':')[1], 'each run makes a new key')
})

t.test('migrate is idempotent', async t => {
  const { run, db } = await cliSetup(t)
  const first = await run('migrate')
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^Applied: 0001_initial/m)
  const second = await run('migrate')
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, 'Database schema is up to date')
  const tables = await db.introspection.getTables()
  t.ok(tables.some(table => table.name === 'variables'), 'the schema exists')
})

t.test('migrations racing on a fresh database all succeed; exactly one applies them', async t => {
  const url = await freshDatabase()
  const handles = [openTestDb(url), openTestDb(url), openTestDb(url)]
  t.teardown(() => Promise.all(handles.map(h => h.db.destroy())))
  const all = (await readdir(MIGRATIONS_DIR)).filter(f => /\.(ts|js)$/.test(f)).map(f => f.replace(/\.(ts|js)$/, '')).sort()
  t.ok(all.length > 0)
  const results = await Promise.all(handles.map(h => migrateToLatest(h.db)))
  t.same(results.map(r => r.join(',')).sort(), ['', '', all.join(',')], 'one run applied every migration, the others found nothing to do')
  t.ok(await migrationsApplied(handles[0]!.db), 'the schema is complete')
})
