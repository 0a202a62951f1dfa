// Every /api/v1 route needs `Authorization: Bearer <admin token>`; anything else is a 401 with a
// WWW-Authenticate challenge, and changes nothing.
import t from 'tap'
import { ADMIN_TOKEN, openTestDb, startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

t.test('the admin API refuses missing and wrong admin tokens', async t => {
  const gw = await startTestGateway(t)
  t.equal((await gw.applyConfig({ servers: [{ name: 'demo' }] })).status, 200)
  const apiKey = await gw.createKey()

  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/config'],
    ['PUT', '/config', { servers: [] }],
    ['GET', '/providers'],
    ['POST', '/providers', { name: 'p', baseUrl: 'http://127.0.0.1:9/' }],
    ['GET', '/variables'],
    ['PUT', '/variables/X', { name: 'X', kind: 'ENV', value: '1' }],
    ['GET', '/servers'],
    ['DELETE', '/servers/demo'],
    ['GET', '/servers/demo/tools'],
    ['GET', '/api-keys'],
    ['POST', '/api-keys', { endUser: 'mallory' }]
  ]
  const credentials: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['a wrong admin token', { authorization: 'Bearer tga_wrong-token' }],
    ['an MCP API key', { authorization: `Bearer ${apiKey}` }],
    ['the admin token as Basic', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
    ['the admin token without a scheme', { authorization: ADMIN_TOKEN }],
    ['an empty bearer', { authorization: 'Bearer ' }]
  ]
  for (const [method, path, body] of routes) {
    for (const [what, headers] of credentials) {
      const response = await fetch(`${gw.url}/api/v1${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body)
      })
      t.equal(response.status, 401, `${method} ${path} with ${what}: 401`)
      t.equal(response.headers.get('www-authenticate'), 'Bearer realm="toolgate-admin"', `${method} ${path} with ${what}: challenge`)
      const reply = await response.json() as { error: { code: string, message: string } }
      t.equal(reply.error.code, 'TG_ERR_UNAUTHORIZED')
      t.notOk(reply.error.message.includes(ADMIN_TOKEN), 'the reply does not echo a token')
    }
  }

  const config = await gw.admin('GET', '/config')
  t.equal(config.status, 200, 'the right token works')
  t.equal(config.headers.get('toolgate-config-version'), '1', 'no refused request changed the config')
  t.same(await config.json(), { variables: [], providers: [], servers: [{ name: 'demo', tools: [] }] })
  const keys = await (await gw.admin('GET', '/api-keys')).json() as Array<{ endUser: string }>
  t.same(keys.map(k => k.endUser), ['alice'], 'no refused request created a key')

  const lowercase = await fetch(`${gw.url}/api/v1/config`, { headers: { authorization: `bearer ${ADMIN_TOKEN}` } })
  t.equal(lowercase.status, 200, 'the scheme is case-insensitive (RFC 9110)')
})

t.test('a generated admin token is stored only as a hash and works', async t => {
  const gw = await startTestGateway(t, { TOOLGATE_ADMIN_TOKEN: '' })
  const token = gw.gateway.generatedAdminToken
  t.match(token, /^tga_[A-Za-z0-9_-]{43}$/, 'a token was generated at first start')
  t.equal((await fetch(`${gw.url}/api/v1/config`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the generated token works')
  t.equal((await gw.admin('GET', '/config')).status, 401, 'the test token is not configured here')

  const { db } = openTestDb(gw.databaseUrl)
  t.teardown(() => db.destroy())
  const rows = await db.selectFrom('admin_tokens').selectAll().execute()
  t.equal(rows.length, 1)
  t.notOk(JSON.stringify(rows).includes(token!), 'the token itself is not stored')

  // A second start on the same database generates nothing new and keeps the token working.
  await gw.stop()
  const again = await startTestGateway(t, { TOOLGATE_ADMIN_TOKEN: '', DATABASE_URL: gw.databaseUrl, TOOLGATE_ENCRYPTION_KEYS: gw.settings.encryptionKeys! })
  t.equal(again.gateway.generatedAdminToken, undefined, 'no new token on restart')
  t.equal((await fetch(`${again.url}/api/v1/config`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the first token still works')
})
