// Upstream OAuth (issue 5): a provider's OAuth settings and sealed client secret, the token vault
// (one row per end user × provider, tokens sealed with the row identity as associated data) and
// the short-lived authorization states of consent flows in progress.
// Tokens are keyed by provider *name*: provider rows are replaced on every apply, the grants an
// end user gave must survive that.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('providers')
    // Everything but the secret: endpoints or issuer, client id, scopes, PKCE, injection…
    .addColumn('oauth', 'json')
    .addColumn('oauth_client_secret', 'bytea')
    .addColumn('oauth_client_secret_key_id', 'text')
    .execute()

  await db.schema.createTable('oauth_tokens')
    .addColumn('id', 'uuid', c => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('workspace_id', 'uuid', c => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('end_user_id', 'uuid', c => c.notNull().references('end_users.id').onDelete('cascade'))
    .addColumn('provider', 'text', c => c.notNull())
    .addColumn('access_token', 'bytea', c => c.notNull())
    .addColumn('refresh_token', 'bytea')
    .addColumn('key_id', 'text', c => c.notNull())
    .addColumn('token_type', 'text', c => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('scopes', sql`text[]`, c => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('granted_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .addColumn('refreshed_at', 'timestamptz')
    .addUniqueConstraint('oauth_tokens_user_provider_unique', ['workspace_id', 'end_user_id', 'provider'])
    .execute()

  // A consent flow between /oauth/start and /oauth/callback. Only the state's hash is stored; the
  // PKCE verifier is sealed. Rows are single-use (used_at) and expire after 10 minutes.
  await db.schema.createTable('oauth_states')
    .addColumn('state_hash', 'text', c => c.primaryKey())
    .addColumn('workspace_id', 'uuid', c => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('end_user_id', 'uuid', c => c.notNull().references('end_users.id').onDelete('cascade'))
    .addColumn('provider', 'text', c => c.notNull())
    .addColumn('server', 'text', c => c.notNull())
    .addColumn('scopes', sql`text[]`, c => c.notNull())
    .addColumn('code_verifier', 'bytea')
    .addColumn('nonce', 'text')
    .addColumn('key_id', 'text')
    .addColumn('elicitation_id', 'text', c => c.notNull())
    // The legacy MCP session (its random id, not the signed header) to tell when consent completes.
    .addColumn('session_id', 'text')
    .addColumn('created_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', c => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('oauth_states_expires_idx').on('oauth_states').column('expires_at').execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('oauth_states').ifExists().execute()
  await db.schema.dropTable('oauth_tokens').ifExists().execute()
  await db.schema.alterTable('providers').dropColumn('oauth').dropColumn('oauth_client_secret').dropColumn('oauth_client_secret_key_id').execute()
}
