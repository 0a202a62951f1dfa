// `toolgate apply` and `toolgate export`, run for real as child processes against a real Postgres.
import t from 'tap'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { loadCompiledConfig } from '../../src/config/store.ts'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { ensureWorkspace } from '../../src/db/workspaces.ts'
import { cliSetup, runCli } from '../helpers/cli.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)
// Child processes (each a Node start) are slow on a busy machine: a ceiling, not an expectation.
t.setTimeout(120_000)

const SECRET = 'cli-secret-5a1f0e'

const document = {
  variables: [
    { name: 'REGION', kind: 'ENV', value: 'eu' },
    { name: 'TOKEN', kind: 'SECRET', value: SECRET }
  ],
  providers: [{ name: 'mock', baseUrl: 'http://127.0.0.1:9/api', headers: { Authorization: 'Bearer ${TOKEN}' } }],
  servers: [{
    name: 'demo',
    tools: [{
      name: 'get_user',
      provider: 'mock',
      method: 'GET',
      path: '/${REGION}/users/{id}',
      input: { type: 'object', properties: { z: { type: 'string' }, id: { type: 'string' } }, required: ['id'] }
    }]
  }]
}
const exportedDocument = { ...document, variables: [document.variables[0], { name: 'TOKEN', kind: 'SECRET' }] }

t.test('apply and export, YAML and JSON; a bad file changes nothing', async t => {
  const { run, db, dataDir, env } = await cliSetup(t)
  const yamlFile = join(dataDir, 'config.yaml')
  await writeFile(yamlFile, stringifyYaml(document))
  const applied = await run('apply', '-f', yamlFile)
  t.equal(applied.code, 0, applied.stderr)
  t.match(applied.stdout, `Applied ${yamlFile}: config version 1`)

  const outFile = join(dataDir, 'out.yaml')
  const [exported, asJson, toFile] = await Promise.all([run('export'), run('export', '--json'), run('export', '-o', outFile)])
  t.equal(exported.code, 0)
  t.notOk(exported.stdout.includes(SECRET), 'export never prints a secret value')
  t.same(parseYaml(exported.stdout), exportedDocument, 'export prints the applied document as YAML')
  t.same(Object.keys(parseYaml(exported.stdout).servers[0].tools[0].input.properties), ['z', 'id'], 'property order kept')
  t.same(JSON.parse(asJson.stdout), exportedDocument, '--json prints JSON')
  t.equal(toFile.code, 0)
  t.equal(toFile.stdout, '', '-o writes nothing to stdout')
  t.equal(await readFile(outFile, 'utf8'), exported.stdout, '-o writes the export to the file')

  // Re-applying the export (no secret value in it) keeps the stored secret.
  const reapplied = await run('apply', '-f', outFile)
  t.equal(reapplied.code, 0, reapplied.stderr)
  t.match(reapplied.stdout, 'config version 2')
  const workspaceId = await ensureWorkspace(db)
  const keyRing = KeyRing.parse(env.TOOLGATE_ENCRYPTION_KEYS)
  const compiled = await loadCompiledConfig(db, keyRing, workspaceId, { timeoutMs: 1000, maxResponseBytes: 1000 })
  t.equal(compiled.servers.get('demo')!.tools.get('get_user')!.staticHeaders.authorization, `Bearer ${SECRET}`, 'the secret survived')

  // JSON file
  const jsonFile = join(dataDir, 'config.json')
  const changed = structuredClone(exportedDocument) as typeof document
  changed.servers[0]!.tools[0]!.name = 'find_user'
  await writeFile(jsonFile, JSON.stringify(changed))
  const fromJson = await run('apply', '-f', jsonFile)
  t.equal(fromJson.code, 0, fromJson.stderr)
  t.match(fromJson.stdout, 'config version 3')
  const afterJson = (await run('export', '--json')).stdout
  t.same(JSON.parse(afterJson), changed)

  // Bad documents (all at once: none may change anything): non-zero exit, the path in stderr.
  const bad = structuredClone(changed)
  bad.servers[0]!.tools[0]!.provider = 'nope'
  ;(bad.servers[0]!.tools[0] as Record<string, unknown>).path = '/${MISSING}/users/{id}'
  const badJson = join(dataDir, 'bad.json')
  const badYaml = join(dataDir, 'bad.yaml')
  const newSecret = join(dataDir, 'new-secret.yaml')
  const unparseable = join(dataDir, 'broken.json')
  await Promise.all([
    writeFile(badJson, JSON.stringify(bad)),
    writeFile(badYaml, stringifyYaml({ ...bad, servers: [{ name: 'demo', tools: [{ name: 'x', provider: 'mock', method: 'FETCH', path: '/x' }] }] })),
    writeFile(newSecret, stringifyYaml({ variables: [{ name: 'FRESH', kind: 'SECRET' }] })),
    writeFile(unparseable, '{"servers": [')
  ])
  // With DATABASE_URL and no key ring, apply must not invent a key the gateway does not have.
  const { TOOLGATE_ENCRYPTION_KEYS: _keys, ...withoutKeys } = env
  const [refused, refusedYaml, refusedSecret, broken, missing, keyless] = await Promise.all([
    run('apply', '-f', badJson),
    run('apply', '-f', badYaml),
    run('apply', '-f', newSecret),
    run('apply', '-f', unparseable),
    run('apply', '-f', join(dataDir, 'absent.yaml')),
    runCli(['apply', '-f', jsonFile], withoutKeys)
  ])
  t.equal(refused.code, 1, 'a bad JSON document exits 1')
  t.match(refused.stderr, 'servers[0].tools[0].provider: unknown provider "nope"')
  t.match(refused.stderr, 'servers[0].tools[0].path: unknown variable ${MISSING}')
  t.equal(refusedYaml.code, 1, 'a bad YAML document exits 1')
  t.match(refusedYaml.stderr, 'servers[0].tools[0].method: must be one of')
  t.equal(refusedSecret.code, 1)
  t.match(refusedSecret.stderr, 'variables[0].value: is required for a new SECRET variable')
  t.equal(broken.code, 2, 'an unparseable file is a usage error')
  t.match(broken.stderr, `${unparseable} is not valid JSON`)
  t.equal(missing.code, 1)
  t.match(missing.stderr, 'ENOENT')
  t.equal(keyless.code, 1, 'apply without a key ring fails')
  t.match(keyless.stderr, 'no encryption key: set TOOLGATE_ENCRYPTION_KEYS')
  t.notOk(existsSync(join(dataDir, 'encryption.keys')), 'no key file was generated')

  t.equal((await run('export', '--json')).stdout, afterJson, 'no refused apply changed the document')
  const version = await db.selectFrom('workspaces').select('config_version').executeTakeFirstOrThrow()
  t.equal(Number(version.config_version), 3, 'nor the version')
})

t.test('a CLI apply reaches a running gateway on the same database', async t => {
  const { run, env, dataDir } = await cliSetup(t)
  t.equal((await run('migrate')).code, 0)
  const gw = await startTestGateway(t, { DATABASE_URL: env.DATABASE_URL, TOOLGATE_ENCRYPTION_KEYS: env.TOOLGATE_ENCRYPTION_KEYS })
  t.equal((await gw.applyConfig({ servers: [{ name: 'demo' }] })).status, 200, 'the server exists, without tools')
  const client = await gw.connect('demo', await gw.createKey())
  t.same((await client.listTools()).tools, [])
  const file = join(dataDir, 'live.yaml')
  await writeFile(file, stringifyYaml(document))
  t.equal((await run('apply', '-f', file)).code, 0)
  const deadline = Date.now() + 10_000
  let names: string[] = []
  while (Date.now() < deadline) {
    names = (await client.listTools()).tools.map(tool => tool.name)
    if (names.length > 0) break
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  t.same(names, ['get_user'], 'the gateway serves what the CLI applied')
})

t.test('apply with a different key under a known key id is refused and seals nothing', async t => {
  const { run, env, dataDir, db } = await cliSetup(t)
  const file = join(dataDir, 'config.yaml')
  await writeFile(file, stringifyYaml(document))
  t.equal((await run('apply', '-f', file)).code, 0)
  const before = await db.selectFrom('variables').select(['name', 'sealed_value', 'key_id']).orderBy('name').execute()

  // Same key id "cli1", other key material: what a lost key file or a typo in the env produces.
  const wrongKey = await runCli(['apply', '-f', file], { ...env, TOOLGATE_ENCRYPTION_KEYS: KeyRing.generateSpec('cli1') })
  t.equal(wrongKey.code, 1, 'refused')
  t.match(wrongKey.stderr, 'encryption key "cli1" is not the key "cli1" this database was sealed with')
  t.same(await db.selectFrom('variables').select(['name', 'sealed_value', 'key_id']).orderBy('name').execute(), before, 'stored secrets untouched')
  const version = await db.selectFrom('workspaces').select('config_version').executeTakeFirstOrThrow()
  t.equal(Number(version.config_version), 1, 'no new version')
})
