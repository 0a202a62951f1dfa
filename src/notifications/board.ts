// The notices this process raises, written without slowing what raised them: raise/resolve are
// synchronous and write in the background (errors logged with names only). Repeats are not
// rewritten: an open notice is written again at most once per `rewriteMs` (its last_seen_at and
// occurrences then move), and a resolve writes only for a notice known to be open. The open set
// comes from Postgres at start and on refresh(), so a notice raised or resolved by another replica
// is seen here within one refresh.
import type { Logger } from 'pino'
import type { Db } from '../db/index.ts'
import { noticeKey, openNoticeKeys, raiseNotice, resolveNotice, type Notice } from './store.ts'

export interface NoticeBoardOptions {
  db: Db
  workspaceId: string
  logger: Logger
  clock?: () => number
  rewriteMs?: number
}

export class NoticeBoard {
  readonly #options: NoticeBoardOptions
  readonly #clock: () => number
  readonly #rewriteMs: number
  /** Open notices → when this process last wrote them (0: loaded, not written here). */
  #open = new Map<string, number>()
  readonly #writes = new Set<Promise<void>>()

  constructor (options: NoticeBoardOptions) {
    this.#options = options
    this.#clock = options.clock ?? Date.now
    this.#rewriteMs = options.rewriteMs ?? 10 * 60_000
  }

  /** Reloads which notices are open (any replica may have raised or resolved one). */
  async refresh (): Promise<void> {
    const keys = await openNoticeKeys(this.#options.db, this.#options.workspaceId)
    this.#open = new Map(keys.map(key => [key, this.#open.get(key) ?? 0]))
  }

  isOpen (kind: string, subject: string): boolean {
    return this.#open.has(noticeKey(kind, subject))
  }

  /** Subjects of this kind's open notices. */
  openSubjects (kind: string): string[] {
    const prefix = noticeKey(kind, '')
    return [...this.#open.keys()].filter(key => key.startsWith(prefix)).map(key => key.slice(prefix.length))
  }

  raise (notice: Notice): void {
    const key = noticeKey(notice.kind, notice.subject)
    const now = this.#clock()
    const written = this.#open.get(key)
    if (written !== undefined && written > 0 && now - written < this.#rewriteMs) return
    this.#open.set(key, now)
    this.#track(raiseNotice(this.#options.db, this.#options.workspaceId, notice, new Date(now)), notice.kind, notice.subject, 'raise')
  }

  resolve (kind: string, subject: string): void {
    if (this.#open.size === 0) return // the usual case, called after every successful api call
    const key = noticeKey(kind, subject)
    if (!this.#open.delete(key)) return
    this.#track(resolveNotice(this.#options.db, this.#options.workspaceId, kind, subject, new Date(this.#clock())).then(() => {}), kind, subject, 'resolve')
  }

  /** Waits for the writes in flight (tests, shutdown). */
  async settle (): Promise<void> {
    while (this.#writes.size > 0) await Promise.all([...this.#writes])
  }

  #track (write: Promise<unknown>, kind: string, subject: string, action: string): void {
    const done: Promise<void> = write.then(() => {}, err => {
      this.#options.logger.warn({ notice: kind, subject, err: { message: (err as Error).message } }, `notice ${action} failed`)
    }).finally(() => { this.#writes.delete(done) })
    this.#writes.add(done)
  }
}
