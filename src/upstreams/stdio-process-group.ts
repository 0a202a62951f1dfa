// Ending a hosted server and everything it started. The child is spawned as the leader of its
// own process group (`detached: true`), so one signal to -pid reaches the whole tree (npx, the
// node it runs, any worker they start) and never Toolgate itself. POSIX only.
import { readdir, readFile } from 'node:fs/promises'

/** Whether any process of the group still exists, zombies included (kill(0) cannot tell them apart). */
export function processGroupExists (groupId: number): boolean {
  try {
    process.kill(-groupId, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Sends `signal` to the group; false when no process of it was left to receive it. */
export function signalProcessGroup (groupId: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-groupId, signal)
    return true
  } catch {
    return false
  }
}

/**
 * Whether a process of the group is still alive, zombies excluded. An orphaned grandchild's
 * zombie stays in the group until PID 1 reaps it, which can take seconds (or for ever under a
 * PID 1 that does not reap); it runs nothing and holds no pipe, so it does not count. Linux reads
 * /proc (asynchronously: this runs while the gateway serves others); elsewhere zombies count.
 */
export async function processGroupAlive (groupId: number): Promise<boolean> {
  if (!processGroupExists(groupId)) return false
  if (process.platform !== 'linux') return true
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return true
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0)
    if (first < 48 || first > 57) continue
    let stat: string
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'latin1')
    } catch {
      continue // ended while we looked
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3)
    if (Number(group) === groupId && state !== 'Z' && state !== 'X') return true
  }
  return false
}

export type GroupEnding = 'already-gone' | 'terminated' | 'killed' | 'lingering'

export interface EndProcessGroupOptions {
  /** How long SIGTERM is given before SIGKILL. */
  graceMs: number
  /** How long to wait for the group to disappear after SIGKILL before giving up. */
  killWaitMs?: number
  pollMs?: number
}

/**
 * SIGTERM to the group, SIGKILL to what is left after the grace period. Resolves once no process
 * of the group is alive, or with 'lingering' when one still is after SIGKILL (a process in
 * uninterruptible sleep). A group is signalled only while it is seen to exist (and its id cannot
 * be reused while it does), so a recycled group id is never hit.
 */
export async function endProcessGroup (groupId: number, options: EndProcessGroupOptions): Promise<GroupEnding> {
  const { graceMs, killWaitMs = 2000, pollMs = 25 } = options
  if (!processGroupExists(groupId) || !signalProcessGroup(groupId, 'SIGTERM')) return 'already-gone'
  if (await groupGoneWithin(groupId, graceMs, pollMs)) return 'terminated'
  if (!signalProcessGroup(groupId, 'SIGKILL')) return 'terminated'
  return await groupGoneWithin(groupId, killWaitMs, pollMs) ? 'killed' : 'lingering'
}

async function groupGoneWithin (groupId: number, ms: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (await processGroupAlive(groupId)) {
    if (Date.now() >= deadline) return false
    await new Promise(resolve => setTimeout(resolve, pollMs))
  }
  return true
}
