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

t.test('debug console, telemetry switch and Redis', async t => {
  const s = loadSettings({})
  t.equal(s.debugMaxBodyBytes, 64 * 1024)
  t.equal(s.debugMaxQueueBytes, 1024 * 1024)
  t.equal(s.telemetry, true)
  t.equal(s.redisUrl, undefined)
  const set = loadSettings({ TOOLGATE_DEBUG_MAX_BODY_BYTES: '0', TOOLGATE_DEBUG_MAX_QUEUE_BYTES: '2048', TOOLGATE_TELEMETRY: 'off', REDIS_URL: 'redis://:pw@cache:6379/0' })
  t.same([set.debugMaxBodyBytes, set.debugMaxQueueBytes, set.telemetry, set.redisUrl], [0, 2048, false, 'redis://:pw@cache:6379/0'])
  t.equal(loadSettings({ TOOLGATE_TELEMETRY: 'on' }).telemetry, true)
  t.throws(() => loadSettings({ TOOLGATE_TELEMETRY: 'no' }), /TOOLGATE_TELEMETRY/)
  t.throws(() => loadSettings({ TOOLGATE_DEBUG_MAX_QUEUE_BYTES: '10' }), /TOOLGATE_DEBUG_MAX_QUEUE_BYTES/)
  t.throws(() => loadSettings({ REDIS_URL: 'http://cache:6379' }), /REDIS_URL/)
  const bad = (() => { try { loadSettings({ REDIS_URL: 'not a url :secretpw' }) } catch (err) { return (err as Error).message } })()
  t.match(bad, /REDIS_URL/)
  t.notMatch(bad, /secretpw/, 'the value (it may hold a password) is not quoted back')
})
