// The audit log end to end: config apply, REST edits and API key create/revoke are recorded with
// actor, action, target and a before/after summary that holds no secret value; GET /api/v1/audit
// filters and pages; CSV is escaped; the API has no way to change or remove an entry; no address
// is stored in any row.
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { csvField, recordAudit } from '../../src/telemetry/audit.ts'
import { openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const SECRET = 'audit-secret-canary-91d3f7'

interface Entry { id: string, actor: string, action: string, target: string | null, details: Record<string, any> | null, createdAt: string }
interface Page { entries: Entry[], nextBefore: string | null }

function documentWith (extraTool?: Record<string, unknown>) {
  return {
    variables: [{ name: 'TOKEN', kind: 'SECRET', value: SECRET }, { name: 'REGION', kind: 'ENV', value: 'eu' }],
    providers: [{ name: 'mock', baseUrl: 'http://127.0.0.1:9', headers: { authorization: 'Bearer ${TOKEN}' } }],
    servers: [{
      name: 'shop',
      tools: [
        { name: 'get_user', provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
        ...(extraTool ? [extraTool] : [])
      ]
    }]
  }
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF), to check what the CSV export says. */
function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++ } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"' && field === '') quoted = true
    else if (c === ',') { row.push(field); field = '' } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++ } else field += c
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row) }
  return rows
}

t.test('config changes and API keys are audited with before/after summaries and no secret', async t => {
  const gw = await startTestGateway(t)
  const list = async (query = ''): Promise<Page> => {
    const response = await gw.admin('GET', `/audit${query}`)
    t.equal(response.status, 200, `GET /audit${query}`)
    return await response.json() as Page
  }

  t.equal((await gw.applyConfig(documentWith())).status, 200)
  const [applied] = (await list()).entries
  t.match(applied, { actor: 'admin', action: 'config.apply', target: 'version 1' })
  t.same(applied!.details!.before, { version: 0, providers: 0, variables: 0, servers: 0, tools: 0 })
  t.same(applied!.details!.after, { version: 1, providers: 1, variables: 2, servers: 1, tools: 1 })
  t.same(applied!.details!.added.names.sort(), ['provider:mock', 'server:shop', 'tool:shop/get_user', 'variable:REGION', 'variable:TOKEN'])

  // A REST edit: the operation and the item, and what it changed.
  const tool = { name: 'get_user', provider: 'mock', method: 'GET', path: '/v2/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } }
  t.equal((await gw.admin('PUT', '/servers/shop/tools/get_user', tool)).status, 200)
  const [edited] = (await list()).entries
  t.match(edited, { actor: 'admin', action: 'tool.update', target: 'shop/get_user' })
  t.same(edited!.details!.changed, { count: 1, names: ['tool:shop/get_user'] })
  t.same(edited!.details!.added, { count: 0, names: [] })
  t.equal(edited!.details!.before.version, 1)
  t.equal(edited!.details!.after.version, 2)

  t.equal((await gw.admin('POST', '/providers', { name: 'other', baseUrl: 'http://127.0.0.1:10' })).status, 201)
  t.equal((await gw.admin('DELETE', '/providers/other')).status, 204)
  // Rotating the secret through a whole apply: recorded, its value nowhere.
  const rotated = documentWith()
  rotated.variables[0]!.value = `${SECRET}-rotated`
  t.equal((await gw.applyConfig(rotated)).status, 200)

  const created = await (await gw.admin('POST', '/api-keys', { endUser: 'alice', name: 'laptop' })).json() as { id: string, key: string }
  t.equal((await gw.admin('DELETE', `/api-keys/${created.id}`)).status, 200)

  const all = (await list()).entries
  t.same(all.map(e => [e.action, e.target]), [
    ['api_key.revoke', created.id],
    ['api_key.create', created.id],
    ['config.apply', 'version 5'],
    ['provider.delete', 'other'],
    ['provider.create', 'other'],
    ['tool.update', 'shop/get_user'],
    ['config.apply', 'version 1']
  ], 'every change, newest first')
  t.same(all.find(e => e.action === 'provider.create')!.details!.added.names, ['provider:other'])
  t.same(all.find(e => e.action === 'provider.delete')!.details!.removed.names, ['provider:other'])

  // Filters.
  t.same((await list('?action=api_key.*')).entries.map(e => e.action), ['api_key.revoke', 'api_key.create'])
  t.same((await list('?action=config.apply')).entries.map(e => e.target), ['version 5', 'version 1'])
  t.same((await list(`?target=${created.id}`)).entries.length, 2)
  t.same((await list('?actor=someone-else')).entries, [])
  t.same((await list('?actor=admin')).entries.length, 7)
  const future = new Date(Date.now() + 60_000).toISOString()
  const past = new Date(Date.now() - 60_000).toISOString()
  t.same((await list(`?from=${encodeURIComponent(future)}`)).entries, [])
  t.same((await list(`?to=${encodeURIComponent(past)}`)).entries, [])
  t.equal((await list(`?from=${encodeURIComponent(past)}&to=${encodeURIComponent(future)}`)).entries.length, 7)

  // Paging with limit and before.
  const seen: string[] = []
  let before: string | null = null
  let pages = 0
  do {
    const page: Page = await list(`?limit=3${before ? `&before=${before}` : ''}`)
    t.ok(page.entries.length <= 3)
    seen.push(...page.entries.map(e => e.id))
    before = page.nextBefore
    pages++
  } while (before !== null && pages < 10)
  t.equal(pages, 3, '7 entries in pages of 3')
  t.same(seen, all.map(e => e.id), 'the pages together are the whole log, in order, without repeats')

  for (const bad of ['?limit=0', '?limit=1001', '?limit=abc', '?before=x', '?from=yesterday', '?format=xml', '?ip=1']) {
    t.equal((await gw.admin('GET', `/audit${bad}`)).status, 400, `${bad} is refused`)
  }
  t.equal((await gw.admin('GET', '/audit?limit=1000')).status, 200, 'the maximum is allowed')
  const anonymous = await fetch(`${gw.url}/api/v1/audit`)
  t.equal(anonymous.status, 401, 'the admin token is needed')

  // No secret value anywhere: not in the API answers, not in any row (raw, every column).
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const { rows } = await sql<Record<string, unknown>>`select * from audit_log`.execute(db)
  t.equal(rows.length, 7)
  const dump = JSON.stringify(rows)
  const apiText = await (await gw.admin('GET', '/audit?limit=1000')).text()
  const csvText = await (await gw.admin('GET', '/audit?format=csv')).text()
  for (const text of [dump, apiText, csvText]) {
    t.notOk(text.includes(SECRET), 'no secret value')
    t.notOk(text.includes(Buffer.from(SECRET).toString('base64')), 'no secret value in base64')
    t.notOk(text.includes(created.key), 'no API key')
  }

  // No address: the table has no such column, and no row holds the client's address.
  const columns = (await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'audit_log' order by column_name`.execute(db)).rows.map(r => r.column_name)
  t.same(columns, ['action', 'actor', 'created_at', 'details', 'id', 'target', 'workspace_id'], 'audit_log columns: none for an address')
  for (const address of ['127.0.0.1', '::1', '::ffff:']) t.notOk(dump.includes(address), `no ${address} in any audit row`)
})

t.test('an OpenAPI import is audited as such, its secrets as names only', async t => {
  const gw = await startTestGateway(t)
  const document = {
    openapi: '3.1.0',
    info: { title: 'People', version: '1' },
    servers: [{ url: 'http://127.0.0.1:9' }],
    components: { securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
    security: [{ key: [] }],
    paths: { '/people': { get: { operationId: 'listPeople', responses: { 200: { description: 'ok' } } } } }
  }
  const first = await gw.admin('POST', '/servers/people/import/openapi', { document })
  t.equal(first.status, 200, await first.clone().text())
  const needed = (await first.json() as { variablesNeedingValues: string[] }).variablesNeedingValues
  t.ok(needed.length >= 1, 'the import wants the API key as a SECRET')
  const again = await gw.admin('POST', '/servers/people/import/openapi', { document, secrets: Object.fromEntries(needed.map(name => [name, SECRET])) })
  t.equal(again.status, 200)
  const entries = ((await (await gw.admin('GET', '/audit?action=openapi.import')).json()) as Page).entries
  t.equal(entries.length, 2)
  t.match(entries[1], { actor: 'admin', action: 'openapi.import', target: 'people' })
  t.ok(entries[1]!.details!.added.names.includes('tool:people/listPeople'))
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const { rows } = await sql<Record<string, unknown>>`select * from audit_log`.execute(db)
  t.notOk(JSON.stringify(rows).includes(SECRET), 'the secret given to the import is in no audit row')
})

t.test('CSV export: escaping of commas, quotes and newlines; formula-safe', async t => {
  t.equal(csvField('plain'), 'plain')
  t.equal(csvField('a,b'), '"a,b"')
  t.equal(csvField('say "hi"'), '"say ""hi"""')
  t.equal(csvField('two\nlines'), '"two\nlines"')
  t.equal(csvField('cr\rlf'), '"cr\rlf"')
  t.equal(csvField('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"')
  t.equal(csvField(null), '')

  const gw = await startTestGateway(t)
  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const awkward = 'a, "quoted"\nsecond line\r\nthird'
  await recordAudit(db, { workspaceId: gw.gateway.workspaceId, actor: 'cli', action: 'test.awkward', target: awkward, details: { note: 'x,"y"\nz' } })

  for (const [how, init] of [['?format=csv', {}], ['', { headers: { accept: 'text/csv' } }]] as const) {
    const response = await fetch(`${gw.url}/api/v1/audit${how}`, { headers: { authorization: `Bearer ${(await import('../helpers/gateway.ts')).ADMIN_TOKEN}`, ...('headers' in init ? init.headers : {}) } })
    t.equal(response.status, 200)
    t.match(response.headers.get('content-type'), /^text\/csv/, `CSV by ${how || 'Accept'}`)
    const rows = parseCsv(await response.text())
    t.same(rows[0], ['id', 'created_at', 'actor', 'action', 'target', 'details'])
    t.equal(rows.length, 2, 'header and one entry, despite the newlines inside')
    t.same(rows[1]!.slice(2, 5), ['cli', 'test.awkward', awkward], 'the target survives the round trip')
    t.same(JSON.parse(rows[1]![5]!), { note: 'x,"y"\nz' })
  }
  const json = await (await gw.admin('GET', '/audit')).json() as Page
  t.equal(json.entries[0]!.target, awkward, 'JSON by default')
})

t.test('append-only: no route updates or deletes an entry, and no code does', async t => {
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig(documentWith())).status, 200)
  const [entry] = ((await (await gw.admin('GET', '/audit')).json()) as Page).entries
  for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
    for (const path of ['/audit', `/audit/${entry!.id}`]) {
      const response = await gw.admin(method, path, method === 'DELETE' ? undefined : {})
      t.equal(response.status, 404, `${method} /api/v1${path} does not exist`)
    }
  }
  t.equal(((await (await gw.admin('GET', '/audit')).json()) as Page).entries.length, 1, 'the entry is still there')

  // The source: audit_log is only ever inserted into and selected from.
  const files: string[] = []
  const walk = async (dir: string) => {
    for (const item of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, item.name)
      if (item.isDirectory()) await walk(path)
      else if (item.name.endsWith('.ts')) files.push(path)
    }
  }
  await walk(new URL('../../src', import.meta.url).pathname)
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    t.notMatch(text, /(updateTable|deleteFrom)\(\s*['"]audit_log['"]/, `${file} neither updates nor deletes audit rows`)
    t.notMatch(text, /(update|delete\s+from)\s+audit_log/i, `${file} has no raw SQL changing audit rows`)
  }
})
