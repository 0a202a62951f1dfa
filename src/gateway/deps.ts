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
import type { OAuthServices } from '../oauth/services.ts'
import type { LastConnected } from '../telemetry/last-connected.ts'
import type { WorkspaceState } from '../lifecycle/workspace-state.ts'
import type { NoticeBoard } from '../notifications/board.ts'
import type { UpstreamFailureWatch } from '../notifications/watchers.ts'
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
  /** Upstream OAuth: the token vault, refresh, consent links and flow. */
  oauth: OAuthServices
  /** Prometheus metrics; absent, nothing is counted and there is no /metrics. */
  metrics?: GatewayMetrics
  /** Active, pending deletion or purged (read per request by the workspace gate). Absent: always active. */
  workspace?: WorkspaceState
  /** Writes api servers' `last_connected_at` (bounded). Absent: not written. */
  lastConnected?: LastConnected
  /** Operator notices (raised in the background). */
  notices?: NoticeBoard
  /** Counts consecutive upstream failures of api servers → `upstream.failing` notices. */
  upstreamFailures?: UpstreamFailureWatch
  /** The live debug console's bus (in memory; calls are traced only while someone is subscribed). */
  debug: DebugBus
  /** Scoped tokens for one server's debug stream. */
  debugTokens: DebugTokenSigner
}
