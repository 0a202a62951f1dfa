// Environment settings: read once at start, validated, then passed down as a plain object.
import { resolve } from 'node:path'

export interface RateBudget {
  max: number
  timeWindowMs: number
}

export interface Settings {
  host: string
  port: number
  publicUrl: string
  databaseUrl: string | undefined
  dataDir: string
  adminToken: string | undefined
  encryptionKeys: string | undefined
  trustProxy: boolean | string | number
  allowedOrigins: string[]
  logLevel: string
  rateLimits: { mcp: RateBudget, api: RateBudget, oauth: RateBudget }
  upstreamTimeoutMs: number
  maxResponseBytes: number
  maxRequestBytes: number
  /** Interval of SSE keep-alive comments on long-lived MCP streams (0 turns them off). */
  sseKeepAliveMs: number
  /** How long an MCP session id stays valid after initialize. */
  sessionMaxAgeMs: number
  /** Upper bound on warm JS interceptor isolates in this process (each has its own heap limit). */
  interceptorMaxIsolates: number
  /** Largest OpenAPI document the importer reads (file, URL or request body). */
  maxOpenApiBytes: number
  /** With a port, /metrics is served on its own listener (no auth) instead of the main port. */
  metricsPort: number | undefined
  metricsHost: string
  /** Interval of usage-aggregate flushes to Postgres (0: only at shutdown and on reads). */
  usageFlushMs: number
  /** Days a DELETE /api/v1/workspace waits before the purge (0: at once; at most 30). */
  deletionGraceDays: number
  /** Shortest interval between two writes of an api server's `last_connected_at` by this process. */
  lastConnectedWriteMs: number
  /** Age of the active encryption key after which a "rotate the key" notice is raised (0: never). */
  keyRotationDays: number
  /** `off` (a bench/diagnostic switch): no usage counting and no Prometheus metrics (no /metrics). */
  telemetry: boolean
  /** Live debug console: bodies in events are cut at this many bytes (0: sizes only). */
  debugMaxBodyBytes: number
  /** Live debug console: events held for one subscriber whose socket is not draining, in characters. */
  debugMaxQueueBytes: number
  /** With it, debug console events fan out across replicas through Redis pub/sub. */
  redisUrl: string | undefined
}

export class SettingsError extends Error {
  constructor (name: string, message: string) {
    super(`${name}: ${message}`)
    this.name = 'SettingsError'
  }
}

type Env = Record<string, string | undefined>

function integer (env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) throw new SettingsError(name, `expected an integer >= ${min}, got "${raw}"`)
  return value
}

const WINDOWS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000 }

/** Parses a budget such as `600/minute` (also `10/second`, `5000/hour`). */
export function parseRateBudget (name: string, raw: string | undefined, fallback: RateBudget): RateBudget {
  if (raw === undefined || raw === '') return fallback
  const match = /^(\d+)\s*\/\s*(second|minute|hour)$/.exec(raw.trim())
  if (!match) throw new SettingsError(name, `expected "<count>/<second|minute|hour>", got "${raw}"`)
  return { max: Number(match[1]), timeWindowMs: WINDOWS[match[2]!]! }
}

function trustProxy (raw: string | undefined): boolean | string | number {
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return Number(raw) // number of hops
  return raw // comma-separated addresses/CIDRs, as Fastify takes them
}

function onOff (env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (raw === 'on') return true
  if (raw === 'off') return false
  throw new SettingsError(name, `expected "on" or "off", got "${raw}"`)
}

function redisUrl (env: Env): string | undefined {
  const raw = env.REDIS_URL
  if (raw === undefined || raw === '') return undefined
  let url: URL
  // The value may hold a password: never quoted back.
  try { url = new URL(raw) } catch { throw new SettingsError('REDIS_URL', 'not a URL') }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new SettingsError('REDIS_URL', `expected a redis:// or rediss:// URL, got ${url.protocol}`)
  return raw
}

function metricsPort (env: Env): number | undefined {
  if (env.TOOLGATE_METRICS_PORT === undefined || env.TOOLGATE_METRICS_PORT === '') return undefined
  const port = integer(env, 'TOOLGATE_METRICS_PORT', 0)
  if (port > 65535) throw new SettingsError('TOOLGATE_METRICS_PORT', 'must be <= 65535')
  return port
}

/** The longest grace period a workspace deletion may have (DESIGN promise 6: deletion means deletion). */
export const MAX_DELETION_GRACE_DAYS = 30

function graceDays (env: Env): number {
  const days = integer(env, 'TOOLGATE_DELETION_GRACE_DAYS', 0, 0)
  if (days > MAX_DELETION_GRACE_DAYS) throw new SettingsError('TOOLGATE_DELETION_GRACE_DAYS', `at most ${MAX_DELETION_GRACE_DAYS}`)
  return days
}

export function loadSettings (env: Env = process.env): Settings {
  const host = env.HOST || '127.0.0.1'
  const port = integer(env, 'PORT', 8080)
  if (port > 65535) throw new SettingsError('PORT', 'must be <= 65535')
  const displayHost = host.includes(':') ? `[${host}]` : host
  const publicUrl = (env.TOOLGATE_PUBLIC_URL || `http://${displayHost === '0.0.0.0' ? '127.0.0.1' : displayHost}:${port}`).replace(/\/+$/, '')
  try { new URL(publicUrl) } catch { throw new SettingsError('TOOLGATE_PUBLIC_URL', `not a URL: "${publicUrl}"`) }
  return {
    host,
    port,
    publicUrl,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.TOOLGATE_DATA_DIR || './.toolgate'),
    adminToken: env.TOOLGATE_ADMIN_TOKEN || undefined,
    encryptionKeys: env.TOOLGATE_ENCRYPTION_KEYS || undefined,
    trustProxy: trustProxy(env.TRUST_PROXY),
    allowedOrigins: (env.TOOLGATE_ALLOWED_ORIGINS || '').split(',').map(s => s.trim()).filter(Boolean),
    logLevel: env.LOG_LEVEL || 'info',
    rateLimits: {
      mcp: parseRateBudget('TOOLGATE_RATE_LIMIT_MCP', env.TOOLGATE_RATE_LIMIT_MCP, { max: 1200, timeWindowMs: 60_000 }),
      api: parseRateBudget('TOOLGATE_RATE_LIMIT_API', env.TOOLGATE_RATE_LIMIT_API, { max: 300, timeWindowMs: 60_000 }),
      oauth: parseRateBudget('TOOLGATE_RATE_LIMIT_OAUTH', env.TOOLGATE_RATE_LIMIT_OAUTH, { max: 60, timeWindowMs: 60_000 })
    },
    upstreamTimeoutMs: integer(env, 'TOOLGATE_UPSTREAM_TIMEOUT_MS', 30_000, 1),
    maxResponseBytes: integer(env, 'TOOLGATE_MAX_RESPONSE_BYTES', 10 * 1024 * 1024, 1),
    maxRequestBytes: integer(env, 'TOOLGATE_MAX_REQUEST_BYTES', 4 * 1024 * 1024, 1024),
    sseKeepAliveMs: integer(env, 'TOOLGATE_SSE_KEEPALIVE_MS', 15_000, 0),
    sessionMaxAgeMs: integer(env, 'TOOLGATE_SESSION_MAX_AGE_MS', 24 * 60 * 60 * 1000, 1000),
    interceptorMaxIsolates: integer(env, 'TOOLGATE_INTERCEPTOR_MAX_ISOLATES', 32, 1),
    maxOpenApiBytes: integer(env, 'TOOLGATE_MAX_OPENAPI_BYTES', 16 * 1024 * 1024, 1024),
    metricsPort: metricsPort(env),
    metricsHost: env.TOOLGATE_METRICS_HOST || '127.0.0.1',
    usageFlushMs: integer(env, 'TOOLGATE_USAGE_FLUSH_MS', 5000, 0),
    deletionGraceDays: graceDays(env),
    lastConnectedWriteMs: integer(env, 'TOOLGATE_LAST_CONNECTED_WRITE_MS', 60_000, 1000),
    keyRotationDays: integer(env, 'TOOLGATE_KEY_ROTATION_DAYS', 90, 0),
    telemetry: onOff(env, 'TOOLGATE_TELEMETRY', true),
    debugMaxBodyBytes: integer(env, 'TOOLGATE_DEBUG_MAX_BODY_BYTES', 64 * 1024, 0),
    debugMaxQueueBytes: integer(env, 'TOOLGATE_DEBUG_MAX_QUEUE_BYTES', 1024 * 1024, 1024),
    redisUrl: redisUrl(env)
  }
}
