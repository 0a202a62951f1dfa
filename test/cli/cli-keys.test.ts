// `toolgate api-keys …` and `toolgate admin-token reset`, run for real as child processes.
import t from 'tap'
import { AdminTokens } from '../../src/auth/admin-token.ts'
import { ApiKeyVerifier } from '../../src/auth/api-keys.ts'
import { ensureWorkspace } from '../../src/db/workspaces.ts'
import { cliSetup } from '../helpers/cli.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)
// Child processes (each a Node start) are slow on a busy machine: a ceiling, not an expectation.
t.setTimeout(120_000)

t.test('api-keys create, list, revoke', async t => {
  const { run, db } = await cliSetup(t)
  const created = await run('api-keys', 'create', '--end-user', 'bob', '--name', 'ci key', '--servers', 'demo, other', '--expires-at', '2999-01-01T00:00:00Z')
  t.equal(created.code, 0, created.stderr)
  const id = /API key ([0-9a-f-]{36}) for end user "bob" \(servers: demo, other\)/.exec(created.stdout)?.[1]
  const key = /Key \(shown once\): (tg_\S+)/.exec(created.stdout)?.[1]
  t.ok(id, 'prints the key id')
  t.ok(key, 'prints the key once')

  const verifier = new ApiKeyVerifier(db)
  const check = await verifier.verify(key!)
  t.ok(check.ok, 'the printed key is valid')
  t.match(check, { principal: { apiKeyId: id, servers: ['demo', 'other'] } })
  const stored = await db.selectFrom('api_keys').selectAll().execute()
  t.notOk(JSON.stringify(stored).includes(key!), 'the key itself is not stored')

  const listed = await run('api-keys', 'list')
  t.equal(listed.code, 0)
  t.match(listed.stdout, id!)
  t.match(listed.stdout, 'bob')
  t.match(listed.stdout, 'ci key')
  t.match(listed.stdout, 'expires 2999-01-01T00:00:00.000Z')
  t.notOk(listed.stdout.includes(key!), 'list never prints the key')
  t.notOk(listed.stdout.includes('REVOKED'))

  const revoked = await run('api-keys', 'revoke', id!)
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.stdout, `Revoked ${id}`)
  verifier.forget()
  t.same(await verifier.verify(key!), { ok: false, reason: 'revoked' }, 'the key no longer works')

  // Independent of each other: run together.
  const [relisted, unknown, badDate, noUser] = await Promise.all([
    run('api-keys', 'list'),
    run('api-keys', 'revoke', '00000000-0000-0000-0000-000000000000'),
    run('api-keys', 'create', '--end-user', 'carol', '--expires-at', 'tomorrow'),
    run('api-keys', 'create')
  ])
  t.match(relisted.stdout, 'REVOKED')
  t.equal(unknown.code, 1, 'revoking an unknown key fails')
  t.match(unknown.stderr, 'not found')
  t.equal(badDate.code, 2, 'an unparseable expiry is a usage error')
  t.match(badDate.stderr, '--expires-at: "tomorrow" is not a date')
  t.equal((await db.selectFrom('api_keys').select('id').execute()).length, 1, 'no key was created for it')
  t.equal(noUser.code, 2)
  t.match(noUser.stderr, '--end-user')
})

t.test('admin-token reset replaces every admin token', async t => {
  const { run, db } = await cliSetup(t)
  const first = await run('admin-token', 'reset')
  t.equal(first.code, 0, first.stderr)
  const token = /New admin token \(shown once\): (tga_\S+)/.exec(first.stdout)?.[1]
  t.ok(token, 'prints the new token')
  const second = await run('admin-token', 'reset')
  const newer = /New admin token \(shown once\): (tga_\S+)/.exec(second.stdout)?.[1]
  t.ok(newer)
  t.not(newer, token)

  const workspaceId = await ensureWorkspace(db)
  const tokens = new AdminTokens(db, workspaceId, undefined)
  await tokens.load()
  t.equal(await tokens.verify(newer!), true, 'the new token is accepted')
  t.equal(await tokens.verify(token!), false, 'the previous token is not')
  const rows = await db.selectFrom('admin_tokens').selectAll().execute()
  t.equal(rows.length, 1, 'one stored token')
  t.notOk(JSON.stringify(rows).includes(newer!), 'stored as a hash only')
  const usage = await run('admin-token')
  t.equal(usage.code, 2)
})

t.test('admin-token reset reaches a running gateway without a restart', async t => {
  const { run, env } = await cliSetup(t)
  t.equal((await run('migrate')).code, 0)
  const gw = await startTestGateway(t, { DATABASE_URL: env.DATABASE_URL, TOOLGATE_ENCRYPTION_KEYS: env.TOOLGATE_ENCRYPTION_KEYS, TOOLGATE_ADMIN_TOKEN: '' })
  const generated = gw.gateway.generatedAdminToken!
  const status = async (token: string) => (await fetch(`${gw.url}/api/v1/config`, { headers: { authorization: `Bearer ${token}` } })).status
  t.equal(await status(generated), 200)
  const reset = await run('admin-token', 'reset')
  const token = /New admin token \(shown once\): (tga_\S+)/.exec(reset.stdout)![1]!
  // The gateway re-reads stored hashes every few seconds: poll, bounded.
  const deadline = Date.now() + 15_000
  while (await status(token) !== 200 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(await status(token), 200, 'the new token works')
  t.equal(await status(generated), 401, 'the replaced token no longer works')
})
