// What raises and resolves operator notices. Each watcher is fed by the part that sees the
// condition and only counts in memory; the board decides when to write.
//   - an api server's upstream failing repeatedly (timeouts, unreachable, 5xx), from the MCP route;
//   - a remote-mcp server unreachable or a stdio server crashed, from the upstream status reports;
//   - the active encryption key older than the rotation age, from the periodic job;
//   - a token refresh failing: `oauthRefreshFailed` / `oauthRefreshSucceeded`, called by
//     oauth/tokens.ts after every refresh (wired in runtime.ts).
import type { Db } from '../db/index.ts'
import type { KeyRing } from '../crypto/keyring.ts'
import type { UpstreamStatus } from '../upstreams/types.ts'
import type { NoticeBoard } from './board.ts'

/** Consecutive failed upstream calls of one server that raise `upstream.failing`. */
export const FAILURE_STREAK = 5

/** Failure kinds that say the upstream (not the caller or an interceptor) is failing. */
function upstreamFailed (errorKind: string | undefined, status: number | undefined): boolean {
  if (errorKind === 'timeout' || errorKind === 'unreachable') return true
  return errorKind === 'upstream_status' && status !== undefined && status >= 500
}

export class UpstreamFailureWatch {
  readonly #board: NoticeBoard
  readonly #threshold: number
  /** Server name → consecutive upstream failures (names come from the compiled config). */
  readonly #streaks = new Map<string, number>()

  constructor (board: NoticeBoard, threshold = FAILURE_STREAK) {
    this.#board = board
    this.#threshold = threshold
  }

  /** One finished api call that reached (or tried to reach) its upstream. */
  record (server: string, tool: string, outcome: { errorKind?: string, upstreamStatus?: number }): void {
    if (upstreamFailed(outcome.errorKind, outcome.upstreamStatus)) {
      const streak = (this.#streaks.get(server) ?? 0) + 1
      this.#streaks.set(server, streak)
      if (streak >= this.#threshold) {
        const last = outcome.errorKind === 'upstream_status' ? `status ${outcome.upstreamStatus}` : outcome.errorKind
        this.#board.raise({
          kind: 'upstream.failing',
          subject: server,
          severity: 'warning',
          message: `The upstream of server "${server}" failed ${streak} calls in a row (last: ${last}, tool ${tool})`
        })
      }
      return
    }
    // Failures the upstream is not to blame for (bad arguments, interceptors) neither count nor clear.
    if (outcome.errorKind !== undefined && outcome.errorKind !== 'upstream_status') return
    // The upstream answered: the streak ends, and an open notice (raised here or elsewhere) resolves.
    this.#streaks.delete(server)
    this.#board.resolve('upstream.failing', server)
  }
}

/**
 * Upstream status reports → `upstream.crashed`: raised on crashed, resolved on running. Not on
 * stopped, which a shutdown reports too; a server removed from the config is resolved by
 * `resolveRemovedServers`.
 */
export function upstreamStatusNotices (board: NoticeBoard): (server: string, kind: 'remote-mcp' | 'stdio', status: UpstreamStatus) => void {
  return (server, kind, status) => {
    if (status === 'crashed') {
      board.raise({
        kind: 'upstream.crashed',
        subject: server,
        severity: 'error',
        message: kind === 'stdio'
          ? `The stdio server "${server}" crashed or could not start; Toolgate keeps restarting it`
          : `The remote MCP server "${server}" cannot be reached; Toolgate keeps reconnecting`
      })
    } else if (status === 'running') {
      board.resolve('upstream.crashed', server)
    }
  }
}

/** Server notices whose server is no longer in the config are resolved (on every config change). */
export function resolveRemovedServers (board: NoticeBoard, servers: ReadonlyMap<string, unknown>): void {
  for (const kind of ['upstream.crashed', 'upstream.failing']) {
    for (const subject of board.openSubjects(kind)) if (!servers.has(subject)) board.resolve(kind, subject)
  }
}

/** A token refresh failed for a provider (the OAuth token vault calls this). */
export function oauthRefreshFailed (board: NoticeBoard, provider: string, reason: string): void {
  board.raise({ kind: 'oauth.refresh_failed', subject: provider, severity: 'warning', message: `Refreshing an end user's token for provider "${provider}" failed (${reason}); after invalid_grant the end user is asked to connect again, otherwise the call can be retried` })
}

export function oauthRefreshSucceeded (board: NoticeBoard, provider: string): void {
  board.resolve('oauth.refresh_failed', provider)
}

const DAY_MS = 24 * 3_600_000

/**
 * `key.rotation_due` while the active encryption key was first seen more than `maxAgeDays` ago
 * (encryption_keys.first_seen_at); resolved once another key is first in the ring.
 */
export async function checkKeyRotation (db: Db, board: NoticeBoard, keyRing: KeyRing, maxAgeDays: number, now: Date = new Date()): Promise<void> {
  if (maxAgeDays <= 0) return
  const rows = await db.selectFrom('encryption_keys').select(['key_id', 'first_seen_at']).execute()
  for (const row of rows) {
    if (row.key_id !== keyRing.activeKeyId) board.resolve('key.rotation_due', row.key_id)
  }
  const active = rows.find(row => row.key_id === keyRing.activeKeyId)
  if (!active) return
  const ageDays = Math.floor((now.getTime() - new Date(active.first_seen_at).getTime()) / DAY_MS)
  if (ageDays >= maxAgeDays) {
    board.raise({
      kind: 'key.rotation_due',
      subject: keyRing.activeKeyId,
      severity: 'info',
      message: `The encryption key "${keyRing.activeKeyId}" has been the active key for ${ageDays} days; generate a new one (toolgate keygen) and put it first in the ring`
    })
  } else {
    board.resolve('key.rotation_due', keyRing.activeKeyId)
  }
}
