// Every hosted stdio child this process has started and not yet seen end, so nothing outlives
// Toolgate. Children belong to the OS process, not to any one module, hence one registry per
// process rather than one passed around.
//
// Two ways out:
// - closeAllStdioChildren(): the graceful path for shutdown code (SIGTERM, then SIGKILL after the
//   grace period, for every group), awaited before the process exits.
// - a process 'exit' hook, installed with the first child: SIGKILL to every group still tracked.
//   It covers process.exit() (main.ts exits that way after SIGINT/SIGTERM) and uncaught
//   exceptions. Nothing runs when Toolgate itself is SIGKILLed; children are then left to notice
//   that their stdin closed, as MCP stdio servers normally do.
import { signalProcessGroup } from './stdio-process-group.ts'

export interface TrackedChild {
  /** Process id of the child, which is also its process group id. */
  readonly pid: number | undefined
  close (): Promise<void>
}

const live = new Set<TrackedChild>()
let exitHookInstalled = false

export function trackStdioChild (child: TrackedChild): void {
  live.add(child)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', killEveryTrackedGroup)
  }
}

export function untrackStdioChild (child: TrackedChild): void {
  live.delete(child)
}

/** Process ids of the children still tracked (started, not yet seen end). */
export function liveStdioChildPids (): number[] {
  return [...live].flatMap(child => child.pid === undefined ? [] : [child.pid])
}

/** Closes every tracked child (each its whole process group) and resolves when all are gone. */
export async function closeAllStdioChildren (): Promise<void> {
  await Promise.all([...live].map(child => child.close()))
}

function killEveryTrackedGroup (): void {
  for (const child of live) {
    if (child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL')
  }
}
