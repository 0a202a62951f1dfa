import t from 'tap'
import { loadSettings, parseRateBudget, SettingsError } from '../../src/config/settings.ts'

t.test('defaults', async t => {
  const s = loadSettings({})
  t.equal(s.host, '127.0.0.1')
  t.equal(s.port, 8080)
  t.equal(s.publicUrl, 'http://127.0.0.1:8080')
  t.equal(s.databaseUrl, undefined)
  t.match(s.dataDir, /\.toolgate$/)
  t.same(s.rateLimits.mcp, { max: 1200, timeWindowMs: 60_000 })
  t.equal(s.upstreamTimeoutMs, 30_000)
  t.equal(s.maxResponseBytes, 10 * 1024 * 1024)
  t.equal(s.trustProxy, false)
})

t.test('values from the environment', async t => {
  const s = loadSettings({ PORT: '9000', HOST: '0.0.0.0', TRUST_PROXY: '2', TOOLGATE_RATE_LIMIT_MCP: '10/second', TOOLGATE_ALLOWED_ORIGINS: 'https://a.example, https://b.example', TOOLGATE_PUBLIC_URL: 'https://gw.example/' })
  t.equal(s.port, 9000)
  t.equal(s.trustProxy, 2)
  t.same(s.rateLimits.mcp, { max: 10, timeWindowMs: 1000 })
  t.same(s.allowedOrigins, ['https://a.example', 'https://b.example'])
  t.equal(s.publicUrl, 'https://gw.example')
})

t.test('bad values name the setting', async t => {
  t.throws(() => loadSettings({ PORT: 'abc' }), { name: 'SettingsError', message: /^PORT:/ })
  t.throws(() => loadSettings({ PORT: '70000' }), /PORT/)
  t.throws(() => loadSettings({ TOOLGATE_UPSTREAM_TIMEOUT_MS: '0' }), /TOOLGATE_UPSTREAM_TIMEOUT_MS/)
  t.throws(() => parseRateBudget('TOOLGATE_RATE_LIMIT_API', '5 per minute', { max: 1, timeWindowMs: 1 }), SettingsError)
  t.throws(() => loadSettings({ TOOLGATE_PUBLIC_URL: 'not a url' }), /TOOLGATE_PUBLIC_URL/)
})
