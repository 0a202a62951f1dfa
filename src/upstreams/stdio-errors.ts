// Errors of hosted stdio servers, coded like the rest of Toolgate (src/errors.ts). None carries
// the command's arguments, its environment or anything it wrote on stdout: those may hold
// secrets or payload, and errors end up in logs.
import { ToolgateError } from '../errors.ts'

/** The command could not be started (not found, not executable, missing cwd…). */
export class StdioSpawnError extends ToolgateError {
  readonly errno: string | undefined
  constructor (serverName: string, command: string, errno: string | undefined) {
    super('TG_ERR_STDIO_SPAWN', 502, `stdio server ${serverName}: cannot start \`${command}\`${errno ? ` (${errno}${errno === 'ENOENT' ? ': command or cwd not found' : ''})` : ''}`)
    this.name = 'StdioSpawnError'
    this.errno = errno
  }
}

/** The child exited without being asked to (a crash, or it ended on its own). */
export class StdioExitedError extends ToolgateError {
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  constructor (serverName: string, pid: number | undefined, exitCode: number | null, signal: NodeJS.Signals | null) {
    super('TG_ERR_STDIO_EXITED', 502, `stdio server ${serverName} (pid ${pid ?? '?'}) exited ${signal ? `on signal ${signal}` : `with code ${exitCode}`}`)
    this.name = 'StdioExitedError'
    this.exitCode = exitCode
    this.signal = signal
  }
}

/** The child wrote something on stdout that is not a JSON-RPC message; the line is not quoted. */
export class StdioProtocolError extends ToolgateError {
  constructor (serverName: string, problem: string) {
    super('TG_ERR_STDIO_PROTOCOL', 502, `stdio server ${serverName}: ${problem}`)
    this.name = 'StdioProtocolError'
  }
}

/** send() on a transport that is not started, or already closing. */
export class StdioNotRunningError extends ToolgateError {
  constructor (serverName: string) {
    super('TG_ERR_STDIO_NOT_RUNNING', 503, `stdio server ${serverName} is not running`)
    this.name = 'StdioNotRunningError'
  }
}
