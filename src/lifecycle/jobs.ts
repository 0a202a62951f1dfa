// The periodic lifecycle work of a process (every replica runs it; each step is idempotent):
// purge workspaces whose deletion grace period has ended, remove usage older than 6 years (once a
// day), re-check the encryption key's age and reload which notices are open. Runs once at start.
import type { Logger } from 'pino'
import type { Db } from '../db/index.ts'
import type { KeyRing } from '../crypto/keyring.ts'
import type { NoticeBoard } from '../notifications/board.ts'
import { checkKeyRotation } from '../notifications/watchers.ts'
import { purgeDueWorkspaces } from './purge.ts'
import { removeExpiredUsage } from './retention.ts'
import type { WorkspaceState } from './workspace-state.ts'

export const JOB_INTERVAL_MS = 60 * 60_000
export const RETENTION_INTERVAL_MS = 24 * 60 * 60_000

export interface LifecycleJobsOptions {
  db: Db
  logger: Logger
  workspace: WorkspaceState
  board: NoticeBoard
  keyRing: KeyRing
  keyRotationDays: number
  intervalMs?: number
  clock?: () => number
}

export class LifecycleJobs {
  readonly #options: LifecycleJobsOptions
  readonly #clock: () => number
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #lastRetention = -Infinity

  constructor (options: LifecycleJobsOptions) {
    this.#options = options
    this.#clock = options.clock ?? Date.now
  }

  start (): void {
    this.#timer ??= setInterval(() => { void this.run() }, this.#options.intervalMs ?? JOB_INTERVAL_MS).unref()
  }

  /** One round; a round still running is joined, not doubled. Steps fail alone (logged). */
  async run (): Promise<void> {
    this.#running ??= this.#round().finally(() => { this.#running = undefined })
    return await this.#running
  }

  async #round (): Promise<void> {
    const { db, logger, workspace, board } = this.#options
    const now = new Date(this.#clock())
    const step = async (name: string, work: () => Promise<void>) => {
      await work().catch(err => logger.warn({ job: name, err: { message: (err as Error).message } }, 'lifecycle job failed'))
    }
    await step('purge', async () => {
      for (const report of await purgeDueWorkspaces(db, now)) {
        logger.info({ workspace: report.workspaceId, removed: report.removed }, 'workspace purged after its grace period')
      }
      await workspace.reload()
    })
    if (now.getTime() - this.#lastRetention >= RETENTION_INTERVAL_MS) {
      await step('retention', async () => {
        const removed = await removeExpiredUsage(db, now)
        this.#lastRetention = now.getTime()
        if (removed.usage > 0 || removed.billingPeriods > 0) logger.info({ removed }, 'usage older than the retention removed')
      })
    }
    if (workspace.active) {
      await step('notices', async () => {
        await board.refresh()
        await checkKeyRotation(db, board, this.#options.keyRing, this.#options.keyRotationDays, now)
      })
    }
  }

  async close (): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }
}
