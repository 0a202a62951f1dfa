// What the Fastify app needs, passed in (tests build it with real parts on other ports).
import type { Logger } from 'pino'
import type { ApiKeyVerifier } from '../auth/api-keys.ts'
import type { AdminTokenCheck } from '../auth/admin-token.ts'
import type { Settings } from '../config/settings.ts'
import type { KeyRing } from '../crypto/keyring.ts'
import type { Db } from '../db/index.ts'
import type { SessionSigner } from '../mcp/session.ts'
import type { SessionTerminations } from '../mcp/session-terminations.ts'
import type { CompileDefaults } from '../tools/compile.ts'
import type { UpstreamPools } from '../tools/pools.ts'
import type { ToolRegistry } from '../tools/registry.ts'
import type { UpstreamDirectory } from '../upstreams/types.ts'
import type { InterceptorRuntime } from '../interceptors/index.ts'
import type { InterceptorSavings } from '../telemetry/savings.ts'
import type { GatewayMetrics } from '../telemetry/metrics.ts'
import type { UsageRecorder } from '../telemetry/usage.ts'
import type { DebugBus } from '../telemetry/debug-bus.ts'
import type { DebugTokenSigner } from '../auth/debug-token.ts'

export interface GatewayDeps {
  settings: Settings
  db: Db
  workspaceId: string
  keyRing: KeyRing
  registry: ToolRegistry
  pools: UpstreamPools
  apiKeys: ApiKeyVerifier
  adminTokens: AdminTokenCheck
  sessions: SessionSigner
  sessionTerminations: SessionTerminations
  /** Live sessions with upstream MCP servers (remote-mcp, stdio). */
  upstreams: UpstreamDirectory
  compileDefaults: CompileDefaults
  /** Warm sandboxes for the config's interceptors; also runs the dry-run tester. */
  interceptors: InterceptorRuntime
  /** Bytes before/after response interceptors, per tool (sizes only). */
  savings: InterceptorSavings
  /** Usage aggregates of tool calls (in memory, flushed as upserts). Absent: nothing counted. */
  usage?: UsageRecorder
  logger: Logger
  /** Prometheus metrics; absent, nothing is counted and there is no /metrics. */
  metrics?: GatewayMetrics
  /** The live debug console's bus (in memory; calls are traced only while someone is subscribed). */
  debug: DebugBus
  /** Scoped tokens for one server's debug stream. */
  debugTokens: DebugTokenSigner
}
