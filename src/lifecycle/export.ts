// GET /api/v1/workspace/export: everything Toolgate holds about a workspace, as one JSON object.
// Secrets appear as names only: the config is readDocument's export (SECRET variables without
// value), sealed columns and key/token hashes are never read here. Read in one repeatable-read
// snapshot, so the parts agree with each other.
import type { Transaction } from 'kysely'
import type { Db } from '../db/index.ts'
import type { Database } from '../db/types.ts'
import { readDocument } from '../config/store.ts'
import { notFound } from '../errors.ts'

export const EXPORT_FORMAT = 'toolgate-workspace-export'
export const EXPORT_VERSION = 1

const iso = (value: Date | string | null | undefined) => value === null || value === undefined ? null : new Date(value).toISOString()

export async function exportWorkspace (db: Db, workspaceId: string, now: Date = new Date()): Promise<Record<string, unknown>> {
  return await db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(trx => exportIn(trx, workspaceId, now))
}

async function exportIn (trx: Transaction<Database>, workspaceId: string, now: Date): Promise<Record<string, unknown>> {
  const workspace = await trx.selectFrom('workspaces').selectAll().where('id', '=', workspaceId).executeTakeFirst()
  if (!workspace) throw notFound(`workspace ${workspaceId}`)
  const { document, version } = await readDocument(trx, workspaceId)
  const [variables, servers, members, endUsers, apiKeys, adminTokens, audit, usage, billing, notices, dismissals, connections] = await Promise.all([
    trx.selectFrom('variables').select(['name', 'kind', 'key_id', 'updated_at']).where('workspace_id', '=', workspaceId).orderBy('position').execute(),
    trx.selectFrom('servers').select(['name', 'kind', 'status', 'last_connected_at', 'config_version']).where('workspace_id', '=', workspaceId).orderBy('position').execute(),
    trx.selectFrom('memberships').innerJoin('accounts', 'accounts.id', 'memberships.account_id')
      .select(['accounts.id', 'accounts.email', 'accounts.name', 'accounts.picture', 'accounts.created_at', 'memberships.role'])
      .where('memberships.workspace_id', '=', workspaceId).orderBy('accounts.email').execute(),
    trx.selectFrom('end_users').select(['id', 'external_id', 'created_at']).where('workspace_id', '=', workspaceId).orderBy('created_at').execute(),
    trx.selectFrom('api_keys').innerJoin('end_users', 'end_users.id', 'api_keys.end_user_id')
      .select(['api_keys.id', 'api_keys.name', 'api_keys.prefix', 'end_users.external_id', 'api_keys.servers', 'api_keys.expires_at', 'api_keys.revoked_at', 'api_keys.created_at'])
      .where('api_keys.workspace_id', '=', workspaceId).orderBy('api_keys.created_at').execute(),
    trx.selectFrom('admin_tokens').select(['id', 'created_at']).where('workspace_id', '=', workspaceId).orderBy('created_at').execute(),
    trx.selectFrom('audit_log').select(['id', 'actor', 'action', 'target', 'details', 'created_at']).where('workspace_id', '=', workspaceId).orderBy('id').execute(),
    trx.selectFrom('usage').selectAll().where('workspace_id', '=', workspaceId).orderBy('hour').orderBy('server').orderBy('tool').execute(),
    trx.selectFrom('billing_periods').select(['period', 'calls']).where('workspace_id', '=', workspaceId).orderBy('period').execute(),
    trx.selectFrom('notifications').selectAll().where('workspace_id', '=', workspaceId).orderBy('first_seen_at').execute(),
    trx.selectFrom('notification_dismissals').innerJoin('notifications', 'notifications.id', 'notification_dismissals.notification_id')
      .select(['notification_dismissals.notification_id', 'notification_dismissals.account_id', 'notification_dismissals.dismissed_at'])
      .where('notifications.workspace_id', '=', workspaceId).execute(),
    // Without the sealed tokens: which end user connected which provider, with what, and when.
    trx.selectFrom('oauth_tokens').innerJoin('end_users', 'end_users.id', 'oauth_tokens.end_user_id')
      .select(['end_users.external_id', 'oauth_tokens.provider', 'oauth_tokens.scopes', 'oauth_tokens.key_id', 'oauth_tokens.expires_at', 'oauth_tokens.granted_at', 'oauth_tokens.refreshed_at'])
      .select(eb => eb('oauth_tokens.refresh_token', 'is not', null).as('has_refresh_token'))
      .where('oauth_tokens.workspace_id', '=', workspaceId).orderBy('end_users.external_id').orderBy('oauth_tokens.provider').execute()
  ])
  return {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_VERSION,
    exportedAt: now.toISOString(),
    workspace: {
      id: workspace.id,
      name: workspace.name,
      createdAt: iso(workspace.created_at),
      configVersion: version,
      deletion: workspace.purge_at ? { requestedAt: iso(workspace.deletion_requested_at), purgeAt: iso(workspace.purge_at) } : null
    },
    // The document `toolgate apply -f` takes back (SECRET variables without their value).
    config: document,
    // Names only: the values are sealed in Postgres and are never exported.
    secrets: variables.filter(v => v.kind === 'SECRET').map(v => ({ name: v.name, keyId: v.key_id, updatedAt: iso(v.updated_at) })),
    servers: servers.map(s => ({ name: s.name, kind: s.kind, status: s.status, lastConnectedAt: iso(s.last_connected_at), configVersion: Number(s.config_version) })),
    accounts: members.map(m => ({ id: m.id, email: m.email, name: m.name, picture: m.picture, role: m.role, createdAt: iso(m.created_at) })),
    endUsers: endUsers.map(u => ({ id: u.id, externalId: u.external_id, createdAt: iso(u.created_at) })),
    // Without the key hash: the key itself was shown once, at creation.
    apiKeys: apiKeys.map(k => ({ id: k.id, name: k.name, prefix: k.prefix, endUser: k.external_id, servers: k.servers, expiresAt: iso(k.expires_at), revokedAt: iso(k.revoked_at), createdAt: iso(k.created_at) })),
    adminTokens: adminTokens.map(a => ({ id: a.id, createdAt: iso(a.created_at) })),
    oauthConnections: connections.map(c => ({
      endUser: c.external_id, provider: c.provider, scopes: c.scopes, keyId: c.key_id, hasRefreshToken: c.has_refresh_token,
      expiresAt: iso(c.expires_at), grantedAt: iso(c.granted_at), refreshedAt: iso(c.refreshed_at)
    })),
    auditLog: audit.map(a => ({ id: String(a.id), actor: a.actor, action: a.action, target: a.target, details: a.details ?? null, createdAt: iso(a.created_at) })),
    usage: usage.map(u => ({
      hour: iso(u.hour),
      server: u.server,
      tool: u.tool,
      calls: Number(u.calls),
      errors: Number(u.errors),
      errorsByKind: Object.fromEntries(Object.entries(u.errors_by_kind).map(([k, n]) => [k, Number(n)])),
      latencyBuckets: u.latency_buckets.map(Number),
      totalMs: u.total_ms,
      upstreamCalls: Number(u.upstream_calls),
      upstreamMs: u.upstream_ms,
      bytesFromUpstream: Number(u.bytes_from_upstream),
      bytesToClient: Number(u.bytes_to_client),
      endUsers: u.end_users
    })),
    billingPeriods: billing.map(b => ({ period: b.period, calls: Number(b.calls) })),
    notifications: notices.map(n => ({
      id: n.id,
      kind: n.kind,
      subject: n.subject,
      severity: n.severity,
      message: n.message,
      occurrences: n.occurrences,
      firstSeenAt: iso(n.first_seen_at),
      lastSeenAt: iso(n.last_seen_at),
      episodeStartedAt: iso(n.episode_started_at),
      resolvedAt: iso(n.resolved_at),
      dismissals: dismissals.filter(d => d.notification_id === n.id).map(d => ({ accountId: d.account_id, dismissedAt: iso(d.dismissed_at) }))
    }))
  }
}
