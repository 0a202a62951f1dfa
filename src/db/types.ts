// The database's shape as TypeScript types (Kysely). Keep in step with migrations/.
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type Json<T = unknown> = ColumnType<T, string, string>
/** bigint columns come back from pg as strings. */
type BigIntColumn = ColumnType<string, number | string | bigint | undefined, number | string | bigint>

export interface WorkspacesTable {
  id: Generated<string>
  name: string
  config_version: BigIntColumn
  created_at: Timestamp
  /** migrations/0010: set while a deletion waits out its grace period; the purge deletes the row. */
  deletion_requested_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  purge_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

export interface AccountsTable {
  id: Generated<string>
  email: string
  name: string | null
  picture: string | null
  created_at: Timestamp
}

export interface MembershipsTable {
  workspace_id: string
  account_id: string
  role: 'owner' | 'admin' | 'member'
}

export interface AdminTokensTable {
  id: Generated<string>
  workspace_id: string
  token_hash: string
  created_at: Timestamp
}

export interface VariablesTable {
  id: Generated<string>
  workspace_id: string
  name: string
  kind: 'ENV' | 'SECRET'
  description: string | null
  value: string | null
  sealed_value: Buffer | null
  key_id: string | null
  position: number
  updated_at: Timestamp
}

export interface ProvidersTable {
  id: Generated<string>
  workspace_id: string
  name: string
  description: string | null
  base_url: string
  headers: Json<Record<string, string>>
  timeout_ms: number | null
  max_response_bytes: number | null
  position: number
  /** migrations/0009: the OAuth settings (ProviderOAuthDoc without a literal client secret). */
  oauth: Json<Record<string, unknown> | null> | null
  oauth_client_secret: Buffer | null
  oauth_client_secret_key_id: string | null
}

/** One end user's grant for one provider (migrations/0009). Tokens sealed, see oauth/vault.ts. */
export interface OAuthTokensTable {
  id: Generated<string>
  workspace_id: string
  end_user_id: string
  provider: string
  access_token: Buffer
  refresh_token: Buffer | null
  key_id: string
  token_type: string
  expires_at: Date | null
  scopes: string[]
  granted_at: Timestamp
  refreshed_at: Date | null
}

/** A consent flow in progress (migrations/0009). */
export interface OAuthStatesTable {
  state_hash: string
  workspace_id: string
  end_user_id: string
  provider: string
  server: string
  scopes: string[]
  code_verifier: Buffer | null
  nonce: string | null
  key_id: string | null
  elicitation_id: string
  session_id: string | null
  created_at: Timestamp
  expires_at: Date
  used_at: Date | null
}

export interface ServersTable {
  id: Generated<string>
  workspace_id: string
  name: string
  kind: 'api' | 'remote-mcp' | 'stdio'
  title: string | null
  description: string | null
  instructions: string | null
  /** api: 'active'; remote-mcp and stdio: the upstream connection's UpstreamStatus. */
  status: Generated<string>
  last_connected_at: Date | null
  config_version: BigIntColumn
  position: number
  /** remote-mcp and stdio: their ServerDoc fields (unresolved `${NAME}` references), else null. */
  upstream: Json<Record<string, unknown> | null> | null
  /** Interceptor phases declared in the document, possibly as empty chains. */
  chains_declared: ColumnType<string[], string[] | undefined, string[]>
  /** api: dynamic tool discovery (migration 0006). */
  discovery: Generated<boolean>
}

export interface ToolsTable {
  id: Generated<string>
  workspace_id: string
  server_id: string
  provider_id: string
  name: string
  title: string | null
  description: string | null
  method: string
  path: string
  input_schema: Json<Record<string, unknown>>
  output_schema: Json<Record<string, unknown> | null> | null
  parameters: Json<Record<string, unknown>>
  headers: Json<Record<string, string>>
  timeout_ms: number | null
  max_response_bytes: number | null
  scopes: string[]
  annotations: Json<Record<string, unknown> | null> | null
  position: number
  /** Interceptor phases declared in the document, possibly as empty chains (`response: []` opts out of the server's). */
  chains_declared: ColumnType<string[], string[] | undefined, string[]>
}

export interface InterceptorsTable {
  id: Generated<string>
  workspace_id: string
  server_id: string
  /** null: the server's default for its tools. */
  tool_id: string | null
  phase: 'request' | 'response'
  engine: 'jmespath' | 'js'
  name: string | null
  code: string
  timeout_ms: number | null
  memory_mb: number | null
  max_output_bytes: number | null
  position: number
}

export interface EndUsersTable {
  id: Generated<string>
  workspace_id: string
  external_id: string
  created_at: Timestamp
}

export interface ApiKeysTable {
  id: Generated<string>
  workspace_id: string
  end_user_id: string
  name: string
  prefix: string
  key_hash: string
  servers: string[] | null
  expires_at: Date | null
  revoked_at: Date | null
  created_at: Timestamp
}

export interface AuditLogTable {
  id: Generated<string>
  workspace_id: string
  actor: string
  action: string
  target: string | null
  created_at: Timestamp
  /** migrations/0008: what changed (names, counts), never secret values. */
  details: Json<Record<string, unknown> | null> | null
}

export interface EncryptionKeysTable {
  key_id: string
  fingerprint: string
  first_seen_at: Timestamp
}

export interface Database {
  workspaces: WorkspacesTable
  accounts: AccountsTable
  memberships: MembershipsTable
  admin_tokens: AdminTokensTable
  variables: VariablesTable
  providers: ProvidersTable
  servers: ServersTable
  tools: ToolsTable
  interceptors: InterceptorsTable
  end_users: EndUsersTable
  api_keys: ApiKeysTable
  audit_log: AuditLogTable
  encryption_keys: EncryptionKeysTable
  mcp_session_terminations: McpSessionTerminationsTable
  usage: UsageTable
  billing_periods: BillingPeriodsTable
  oauth_tokens: OAuthTokensTable
  oauth_states: OAuthStatesTable
  notifications: NotificationsTable
  notification_dismissals: NotificationDismissalsTable
}

/** Operator notices, one per workspace × kind × subject, raised and resolved in episodes (migration 0010). */
export interface NotificationsTable {
  id: Generated<string>
  workspace_id: string
  kind: string
  subject: string
  severity: 'info' | 'warning' | 'error'
  message: string
  occurrences: Generated<number>
  first_seen_at: Timestamp
  last_seen_at: Timestamp
  /** When the current episode began (first raise, or the first raise after a resolve). */
  episode_started_at: Timestamp
  resolved_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** A notice dismissed by an account (null: the admin token), per episode (migration 0010). */
export interface NotificationDismissalsTable {
  notification_id: string
  account_id: string | null
  dismissed_at: Timestamp
}

/** Usage aggregates per workspace × server × tool × hour (migration 0007). No identities. */
export interface UsageTable {
  workspace_id: string
  server: string
  tool: string
  hour: Timestamp
  calls: BigIntColumn
  errors: BigIntColumn
  errors_by_kind: Json<Record<string, string | number>>
  latency_buckets: ColumnType<string[], number[], number[]>
  total_ms: number
  upstream_calls: BigIntColumn
  upstream_ms: number
  bytes_from_upstream: BigIntColumn
  bytes_to_client: BigIntColumn
  end_users: number
}

/** Calls per workspace × month (`YYYY-MM`, UTC): the billing baseline (migration 0007). */
export interface BillingPeriodsTable {
  workspace_id: string
  period: string
  calls: BigIntColumn
}

export interface McpSessionTerminationsTable {
  session_id: string
  expires_at: Date
  terminated_at: Generated<Date>
}

export type ApiKeyRow = Selectable<ApiKeysTable>
export type NewAuditEntry = Insertable<AuditLogTable>
