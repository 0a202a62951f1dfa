// Boot order: settings → key ring → database (embedded or DATABASE_URL) → migrations → workspace
// → admin token → compiled config → HTTP. `close()` undoes it in reverse.
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { ApiKeyVerifier } from './auth/api-keys.ts'
import { AdminTokens, ensureAdminToken } from './auth/admin-token.ts'
import type { Settings } from './config/settings.ts'
import { CONFIG_CHANNEL, loadCompiledConfig } from './config/store.ts'
import { checkKeyRing } from './crypto/key-check.ts'
import { loadKeyRing } from './crypto/key-file.ts'
import type { KeyRing } from './crypto/keyring.ts'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts'
import { connectDb, type DbHandle } from './db/index.ts'
import { listen, type Listener } from './db/listen.ts'
import { migrateToLatest } from './db/migrate.ts'
import { ensureWorkspace } from './db/workspaces.ts'
import { buildApp } from './gateway/app.ts'
import { SessionSigner } from './mcp/session.ts'
import { SESSIONS_CHANNEL, SessionTerminations } from './mcp/session-terminations.ts'
import type { CompileDefaults } from './tools/compile.ts'
import { UpstreamPools } from './tools/pools.ts'
import { ToolRegistry } from './tools/registry.ts'
import { SERVER_VERSION } from './mcp/dispatch.ts'
import { connectUpstream } from './upstreams/connect.ts'
import { UpstreamManager } from './upstreams/directory.ts'
import { createStatusRecorder } from './upstreams/status-store.ts'
import { InterceptorRuntime } from './interceptors/index.ts'
import { InterceptorSavings } from './telemetry/savings.ts'
import { GatewayMetrics } from './telemetry/metrics.ts'
import { buildMetricsApp } from './gateway/routes/metrics.ts'
import { UsageRecorder } from './telemetry/usage.ts'
import { createOAuthServices, OAUTH_CHANNEL } from './oauth/services.ts'
import { LastConnected } from './telemetry/last-connected.ts'
import { compileConfig } from './tools/compile.ts'
import { LifecycleJobs } from './lifecycle/jobs.ts'
import { purgeDueWorkspaces } from './lifecycle/purge.ts'
import { WORKSPACE_CHANNEL, WorkspaceState } from './lifecycle/workspace-state.ts'
import { NoticeBoard } from './notifications/board.ts'
import { oauthRefreshFailed, oauthRefreshSucceeded, resolveRemovedServers, UpstreamFailureWatch, upstreamStatusNotices } from './notifications/watchers.ts'
import { DebugBus } from './telemetry/debug-bus.ts'
import { RedisFanOut } from './telemetry/debug-fanout.ts'
import { DebugTokenSigner } from './auth/debug-token.ts'

export interface Database {
  handle: DbHandle
  embedded?: EmbeddedDatabase
}

/** DATABASE_URL when set, otherwise the embedded cluster in the data dir. */
export async function openDatabase (settings: Settings, logger: Logger): Promise<Database> {
  if (settings.databaseUrl) return { handle: connectDb(settings.databaseUrl) }
  const embedded = await startEmbeddedPostgres({ dataDir: settings.dataDir, onLog: line => logger.debug({ component: 'postgres' }, line) })
  return { handle: connectDb(embedded.connectionString), embedded }
}

export async function closeDatabase (database: Database): Promise<void> {
  await database.handle.db.destroy().catch(() => {})
  await database.embedded?.stop()
}

export interface Gateway {
  app: FastifyInstance
  url: string
  workspaceId: string
  keyRing: KeyRing
  database: Database
  registry: ToolRegistry
  /** Live sessions with the remote-mcp and stdio servers of the current config. */
  upstreams: UpstreamManager
  /** Active, pending deletion or purged. */
  workspace: WorkspaceState
  /** Operator notices raised by this process. */
  notices: NoticeBoard
  /** Purge of due workspaces, usage retention, key age check. */
  jobs: LifecycleJobs
  lastConnected: LastConnected
  /** The live debug console's bus (tests read its stats). */
  debug: DebugBus
  /** The separate /metrics listener's URL, when TOOLGATE_METRICS_PORT is set. */
  metricsUrl?: string
  /** Set only on the start that generated it: print it once, it is not stored. */
  generatedAdminToken?: string
  generatedKeyFile?: string
  close (): Promise<void>
}

export interface StartOptions {
  logger: Logger
  /** Use this database instead of opening one (tests share one cluster). */
  database?: Database
}

export async function startGateway (settings: Settings, options: StartOptions): Promise<Gateway> {
  const { logger } = options
  const { keyRing, generatedFile } = await loadKeyRing(settings.encryptionKeys, settings.dataDir)
  const database = options.database ?? await openDatabase(settings, logger)
  const cleanups: Array<() => Promise<void>> = options.database ? [] : [() => closeDatabase(database)]
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(err => logger.error({ err }, 'shutdown step failed'))
  }
  try {
    const { db, connectionString } = database.handle
    const applied = await migrateToLatest(db)
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied')
    await checkKeyRing(db, keyRing)
    // A workspace whose deletion grace period ended while no process ran is purged before anything
    // reads it; `default` is then created afresh.
    for (const report of await purgeDueWorkspaces(db)) logger.info({ workspace: report.workspaceId, removed: report.removed }, 'workspace purged after its grace period')
    const workspaceId = await ensureWorkspace(db)
    const workspace = await WorkspaceState.load(db, workspaceId)
    const notices = new NoticeBoard({ db, workspaceId, logger })
    await notices.refresh()
    const generatedAdminToken = await ensureAdminToken(db, workspaceId, settings.adminToken)
    const adminTokens = new AdminTokens(db, workspaceId, settings.adminToken)
    await adminTokens.load()

    const compileDefaults: CompileDefaults = { timeoutMs: settings.upstreamTimeoutMs, maxResponseBytes: settings.maxResponseBytes }
    const pools = new UpstreamPools()
    cleanups.push(() => pools.close())
    const interceptors = new InterceptorRuntime({ maxIsolates: settings.interceptorMaxIsolates })
    const savings = new InterceptorSavings()
    cleanups.push(() => interceptors.close())
    const load = () => loadCompiledConfig(db, keyRing, workspaceId, compileDefaults, interceptors)
    const registry = new ToolRegistry(await load(), load, pools, interceptors)
    const refresh = () => { registry.refresh().catch(err => logger.error({ err: { message: (err as Error).message } }, 'config reload failed')) }
    const listener: Listener = await listen({
      connectionString,
      channel: CONFIG_CHANNEL,
      onMessage: refresh,
      onReconnect: refresh,
      onError: err => logger.warn({ err: { message: err.message } }, 'config listener connection lost; reconnecting')
    })
    cleanups.push(() => listener.close())

    // MCP upstreams follow the config: connected at start, reconciled on every new version,
    // closed (stdio children ended) after the HTTP server has stopped taking calls.
    const recordStatus = createStatusRecorder(db, workspaceId, logger)
    const statusNotices = upstreamStatusNotices(notices)
    const upstreams = new UpstreamManager({
      logger,
      connect: connectUpstream,
      recordStatus: async (name, kind, status, connectedAt) => {
        if (workspace.active) statusNotices(name, kind, status)
        await recordStatus(name, kind, status, connectedAt)
      },
      clientInfo: { name: 'toolgate', version: SERVER_VERSION }
    })
    upstreams.reconcile(registry.current)
    registry.on('changed', config => {
      upstreams.reconcile(config)
      if (workspace.active) resolveRemovedServers(notices, config.servers)
    })
    cleanups.push(() => upstreams.close())

    const sessionTerminations = new SessionTerminations(db)
    await sessionTerminations.load()
    const sessionListener: Listener = await listen({
      connectionString,
      channel: SESSIONS_CHANNEL,
      onMessage: payload => sessionTerminations.onNotify(payload),
      onReconnect: () => { sessionTerminations.load().catch(err => logger.error({ err: { message: (err as Error).message } }, 'session terminations reload failed')) },
      onError: err => logger.warn({ err: { message: err.message } }, 'session listener connection lost; reconnecting')
    })
    cleanups.push(() => sessionListener.close())
    const purge = setInterval(() => {
      sessionTerminations.purge().catch(err => logger.warn({ err: { message: (err as Error).message } }, 'session terminations purge failed'))
    }, 60 * 60 * 1000).unref()
    cleanups.push(async () => clearInterval(purge))

    // Upstream OAuth: vault, refresh, consent flow. Consent completions reach every replica.
    const oauth = createOAuthServices({
      db, keyRing, workspaceId, publicUrl: settings.publicUrl, logger, providers: () => registry.current.oauthProviders,
      onRefresh: (provider, failure) => failure ? oauthRefreshFailed(notices, provider, `${failure.kind}: ${failure.detail}`) : oauthRefreshSucceeded(notices, provider)
    })
    registry.on('changed', config => oauth.clients.retain(config.oauthProviders.values()))
    const oauthListener: Listener = await listen({
      connectionString,
      channel: OAUTH_CHANNEL,
      onMessage: payload => oauth.onNotify(payload),
      onError: err => logger.warn({ err: { message: err.message } }, 'oauth listener connection lost; reconnecting')
    })
    cleanups.push(() => oauthListener.close())
    const statePurge = setInterval(() => {
      oauth.flow.purge().catch(err => logger.warn({ err: { message: (err as Error).message } }, 'oauth states purge failed'))
    }, 60 * 60 * 1000).unref()
    cleanups.push(async () => clearInterval(statePurge))

    // The live debug console: in memory; with REDIS_URL its events fan out across replicas.
    const debug = new DebugBus({ maxBodyBytes: settings.debugMaxBodyBytes })
    if (settings.redisUrl) {
      debug.attachFanOut(new RedisFanOut({
        url: settings.redisUrl, workspaceId, replicaId: debug.replicaId, logger,
        deliver: (server, frame) => debug.deliverRemote(server, frame)
      }))
    }
    cleanups.push(() => debug.close())

    // TOOLGATE_TELEMETRY=off (a bench/diagnostic switch): neither metrics nor usage counting.
    const metrics = settings.telemetry
      ? new GatewayMetrics({
        interceptors, pools, upstreamSessions: () => upstreams.sessionStatuses(),
        debug: () => ({ subscribers: debug.subscriberCount(), eventsBuilt: debug.stats.eventsBuilt, dropped: debug.stats.dropped })
      })
      : undefined
    // Usage counts: flushed every usageFlushMs, and a last time after the HTTP server has stopped
    // taking calls (cleanups run in reverse) and before the database closes.
    const usage = settings.telemetry
      ? new UsageRecorder({
        db, workspaceId, flushMs: settings.usageFlushMs,
        onError: err => logger.warn({ err: { message: err.message } }, 'usage flush failed; counts kept for the next one')
      })
      : undefined
    if (usage) cleanups.push(() => usage.close())

    // Workspace lifecycle: a purge (here or on another replica, told through WORKSPACE_CHANNEL)
    // drops the compiled config, so upstream sessions close and no resolved secret stays in memory.
    const emptyConfig = () => compileConfig({}, registry.version + 1, new Map(), compileDefaults, interceptors)
    const dropConfig = () => { registry.replace(emptyConfig()).catch(err => logger.error({ err: { message: (err as Error).message } }, 'dropping the purged config failed')) }
    const apiKeys = new ApiKeyVerifier(db)
    workspace.on('changed', next => {
      if (next.status !== 'purged') return
      dropConfig()
      apiKeys.forget() // the purged keys stop working at once, not after the verifier's cache time
    })
    if (workspace.current.status === 'purged') dropConfig()
    const workspaceListener: Listener = await listen({
      connectionString,
      channel: WORKSPACE_CHANNEL,
      onMessage: () => { workspace.reload().catch(err => logger.warn({ err: { message: (err as Error).message } }, 'workspace state reload failed')) },
      onReconnect: () => { workspace.reload().catch(() => {}) },
      onError: err => logger.warn({ err: { message: err.message } }, 'workspace listener connection lost; reconnecting')
    })
    cleanups.push(() => workspaceListener.close())
    // Cleanups run in reverse: the jobs stop, then the background writes they and calls started finish.
    cleanups.push(() => notices.settle())
    const lastConnected = new LastConnected({ db, workspaceId, intervalMs: settings.lastConnectedWriteMs, logger })
    cleanups.push(() => lastConnected.settle())
    const jobs = new LifecycleJobs({ db, logger, workspace, board: notices, keyRing, keyRotationDays: settings.keyRotationDays })
    void jobs.run()
    jobs.start()
    cleanups.push(() => jobs.close())
    const upstreamFailures = new UpstreamFailureWatch(notices)

    const app = await buildApp({
      settings, db, workspaceId, keyRing, registry, pools, compileDefaults, logger,
      apiKeys,
      adminTokens,
      sessions: new SessionSigner(keyRing.deriveKey('mcp-session')),
      sessionTerminations,
      upstreams,
      interceptors,
      savings,
      ...(metrics ? { metrics } : {}),
      ...(usage ? { usage } : {}),
      oauth,
      workspace,
      lastConnected,
      notices,
      upstreamFailures,
      debug,
      debugTokens: new DebugTokenSigner(keyRing.deriveKey('debug-token'))
    })
    cleanups.push(() => app.close())
    await app.listen({ host: settings.host, port: settings.port })
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : settings.port
    const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host
    const gateway: Gateway = { app, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, workspaceId, keyRing, database, registry, upstreams, workspace, notices, jobs, lastConnected, debug, close }
    if (settings.metricsPort !== undefined && metrics) {
      const metricsApp = buildMetricsApp(metrics)
      cleanups.push(() => metricsApp.close())
      await metricsApp.listen({ host: settings.metricsHost, port: settings.metricsPort })
      const bound = metricsApp.server.address()
      const metricsHost = settings.metricsHost.includes(':') ? `[${settings.metricsHost}]` : settings.metricsHost
      gateway.metricsUrl = `http://${metricsHost === '0.0.0.0' ? '127.0.0.1' : metricsHost}:${typeof bound === 'object' && bound ? bound.port : settings.metricsPort}`
      logger.info({ url: `${gateway.metricsUrl}/metrics` }, 'metrics listener')
    }
    if (generatedAdminToken) gateway.generatedAdminToken = generatedAdminToken
    if (generatedFile) gateway.generatedKeyFile = generatedFile
    return gateway
  } catch (err) {
    await close()
    throw err
  }
}
