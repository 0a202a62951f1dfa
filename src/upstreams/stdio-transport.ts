// The hosting side of the `stdio` upstream kind: runs an MCP server as a child process and speaks
// newline-delimited JSON-RPC with it over its stdin/stdout, as an SDK `Transport` (an SDK Client
// connects over it). Restarting after a crash is the caller's job: this transport reports the
// exit (onerror with the code/signal, then onclose) and is not reused.
//
// - Environment: only what the config declares, plus PATH (stdio-environment.ts).
// - Process tree: the child leads its own process group, and close() ends the whole group:
//   SIGTERM, then SIGKILL after a grace period; it resolves once nothing of the group is left.
//   A child that exits on its own has the rest of its group ended the same way.
// - stderr: to the log line by line, secrets masked, bounded (stdio-stderr.ts). stdout is
//   protocol only and never logged, not even in errors about lines that are not JSON-RPC.
// POSIX only (process groups).
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import type { Logger } from 'pino'
import { ReadBuffer, serializeMessage, STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { trackStdioChild, untrackStdioChild } from './stdio-children.ts'
import { childEnvironment } from './stdio-environment.ts'
import { StdioExitedError, StdioNotRunningError, StdioProtocolError, StdioSpawnError } from './stdio-errors.ts'
import { endProcessGroup } from './stdio-process-group.ts'
import { createRedactor } from './stdio-redact.ts'
import { createStderrCapture, DEFAULT_STDERR_BYTES_PER_MINUTE, DEFAULT_STDERR_LINE_LIMIT, type StderrCapture } from './stdio-stderr.ts'

export interface StdioSpec {
  command: string
  args: string[]
  /** The complete environment of the child, secrets already decrypted; PATH is added unless given. */
  env: Record<string, string>
  cwd?: string
}

export interface StdioTransportOptions {
  logger: Logger
  /** Secret values to mask in captured stderr. */
  redact: string[]
  serverName: string
  /** Characters kept of one stderr line. Default 2048. */
  stderrLineLimit?: number
  /** Bytes of stderr logged per minute; the rest is dropped and counted. Default 64 KiB. */
  stderrBytesPerMinute?: number
  /** Time between SIGTERM and SIGKILL on close. Default 2000 ms. */
  killGraceMs?: number
  /** PATH given to the child when its env does not declare one. Default: the gateway's own PATH. */
  inheritedPath?: string
  /** Largest stdout message (one line) accepted. Default 10 MiB, the SDK's. */
  maxMessageBytes?: number
}

export type StdioTransport = Transport & { readonly pid: number | undefined }

export function createStdioTransport (spec: StdioSpec, options: StdioTransportOptions): StdioTransport {
  return new StdioChildTransport(spec, options)
}

const DEFAULT_KILL_GRACE_MS = 2000
/** After the group is gone, how long its pipes may take to drain before they are destroyed. */
const STREAM_DRAIN_MS = 1000

type ChildState = 'new' | 'starting' | 'running' | 'ending' | 'ended'
type Child = ChildProcessByStdio<Writable, Readable, Readable>

class StdioChildTransport implements Transport {
  onclose?: (() => void) | undefined
  onerror?: ((error: Error) => void) | undefined
  onmessage?: (<T extends JSONRPCMessage>(message: T) => void) | undefined

  readonly #spec: StdioSpec
  readonly #options: StdioTransportOptions
  readonly #logger: Logger
  readonly #readBuffer: ReadBuffer
  readonly #maxMessageBytes: number
  #state: ChildState = 'new'
  #child: Child | undefined
  #pid: number | undefined
  #stderr: StderrCapture | undefined
  #started: Promise<void> | undefined
  #ending: Promise<void> | undefined
  #streamsClosed: Promise<void> | undefined

  constructor (spec: StdioSpec, options: StdioTransportOptions) {
    this.#spec = spec
    this.#options = options
    this.#logger = options.logger
    this.#maxMessageBytes = options.maxMessageBytes ?? STDIO_DEFAULT_MAX_BUFFER_SIZE
    this.#readBuffer = new ReadBuffer({ maxBufferSize: this.#maxMessageBytes })
  }

  /** The child's process id (and process group id); kept after it ended, for logs and checks. */
  get pid (): number | undefined {
    return this.#pid
  }

  async start (): Promise<void> {
    if (this.#state !== 'new') throw new Error(`stdio server ${this.#options.serverName}: start() called twice; create a new transport to restart`)
    this.#state = 'starting'
    this.#started = this.#spawn()
    await this.#started
  }

  async #spawn (): Promise<void> {
    const { serverName } = this.#options
    const child = spawn(this.#spec.command, this.#spec.args, {
      env: childEnvironment(this.#spec.env, this.#options.inheritedPath ?? process.env.PATH),
      cwd: this.#spec.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so close() can signal the whole tree (npx → node → …).
      detached: true,
      shell: false
    })
    this.#child = child
    this.#pid = child.pid
    if (child.pid !== undefined) trackStdioChild(this)
    this.#streamsClosed = new Promise(resolve => child.once('close', () => resolve()))
    const stderr = createStderrCapture({
      logger: this.#logger,
      serverName,
      redactor: createRedactor(this.#options.redact),
      lineLimit: this.#options.stderrLineLimit ?? DEFAULT_STDERR_LINE_LIMIT,
      bytesPerMinute: this.#options.stderrBytesPerMinute ?? DEFAULT_STDERR_BYTES_PER_MINUTE
    })
    this.#stderr = stderr
    child.stderr.on('data', (chunk: Buffer) => stderr.write(chunk))
    child.stdout.on('data', (chunk: Buffer) => this.#receive(chunk))
    child.stdout.on('error', err => this.#reportStreamError('stdout', err))
    child.stderr.on('error', err => this.#reportStreamError('stderr', err))
    child.stdin.on('error', err => this.#reportStreamError('stdin', err))

    try {
      await new Promise<void>((resolve, reject) => {
        const onSpawnError = (err: NodeJS.ErrnoException) => {
          child.off('spawn', onSpawned)
          reject(err)
        }
        const onSpawned = () => {
          child.off('error', onSpawnError)
          resolve()
        }
        child.once('error', onSpawnError)
        child.once('spawn', onSpawned)
      })
    } catch (err) {
      this.#state = 'ended'
      untrackStdioChild(this)
      child.stdout.destroy()
      child.stderr.destroy()
      child.stdin.destroy()
      // A new error, not Node's: Node's carries `spawnargs`, which may hold secrets.
      throw new StdioSpawnError(serverName, this.#spec.command, (err as NodeJS.ErrnoException).code)
    }

    this.#state = 'running'
    this.#logger.info({ server: serverName, childPid: child.pid }, 'stdio server started')
    child.on('error', err => this.onerror?.(new Error(`stdio server ${serverName}: ${err.message}`)))
    child.once('exit', (exitCode, signal) => {
      if (this.#state !== 'running') return
      this.#logger.warn({ server: serverName, childPid: child.pid, exitCode, signal }, 'stdio server exited')
      this.#end(new StdioExitedError(serverName, child.pid, exitCode, signal)).catch(() => {})
    })
  }

  async send (message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin
    if (this.#state !== 'running' || !stdin) throw new StdioNotRunningError(this.#options.serverName)
    await new Promise<void>((resolve, reject) => {
      // The callback runs once the data is handed to the OS (backpressure), or with the error
      // when the pipe broke; a child that died is also reported by its exit.
      stdin.write(serializeMessage(message), err => err ? reject(new StdioNotRunningError(this.#options.serverName)) : resolve())
    })
  }

  /**
   * Ends the child and its whole process group; resolves once they are gone, then fires onclose.
   * Idempotent. A transport whose start() failed has nothing to end and fires nothing.
   */
  async close (): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'ended'
      this.onclose?.()
      return
    }
    if (this.#state === 'starting') await this.#started?.catch(() => {})
    if (this.#state === 'ended' && !this.#ending) return
    await this.#end(undefined)
  }

  #end (exit: StdioExitedError | undefined): Promise<void> {
    this.#ending ??= this.#endOnce(exit)
    return this.#ending
  }

  async #endOnce (exit: StdioExitedError | undefined): Promise<void> {
    const child = this.#child!
    const pid = this.#pid!
    this.#state = 'ending'
    const { serverName } = this.#options
    // Closing stdin is the polite request MCP stdio servers honour; the signal is the firm one.
    child.stdin.end()
    const ending = await endProcessGroup(pid, { graceMs: this.#options.killGraceMs ?? DEFAULT_KILL_GRACE_MS })
    if (ending === 'lingering') this.#logger.error({ server: serverName, childPid: pid }, 'processes of the stdio server are still present after SIGKILL')
    // The pipes close once every process holding them is gone; one that escaped the group (its
    // own setsid) could hold them open, so they are waited for only briefly.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#streamsClosed, new Promise(resolve => { timer = setTimeout(resolve, STREAM_DRAIN_MS) })])
    clearTimeout(timer)
    child.stdout.destroy()
    child.stderr.destroy()
    child.stdin.destroy()
    this.#stderr?.end()
    this.#readBuffer.clear()
    this.#state = 'ended'
    untrackStdioChild(this)
    if (!exit) this.#logger.info({ server: serverName, childPid: pid, ending }, 'stdio server stopped')
    if (exit) this.onerror?.(exit)
    this.onclose?.()
  }

  #receive (chunk: Buffer): void {
    if (this.#state === 'ended') return
    try {
      this.#readBuffer.append(chunk)
    } catch {
      // One message larger than the read buffer: the stream cannot be resynchronised safely
      // (the rest of that line is still to come), so the child is ended and the caller restarts it.
      this.onerror?.(new StdioProtocolError(this.#options.serverName, `a stdout message exceeded ${this.#maxMessageBytes} bytes; closing`))
      this.close().catch(() => {})
      return
    }
    for (;;) {
      let message: JSONRPCMessage | null
      try {
        message = this.#readBuffer.readMessage()
      } catch (err) {
        // The line is already consumed; say what was wrong, never what it said.
        const problem = err instanceof SyntaxError ? 'wrote a stdout line that is not JSON' : 'wrote a stdout line that is not a JSON-RPC message'
        this.onerror?.(new StdioProtocolError(this.#options.serverName, `${problem} (ignored; content not logged)`))
        continue
      }
      if (message === null) return
      this.onmessage?.(message)
    }
  }

  #reportStreamError (stream: string, err: NodeJS.ErrnoException): void {
    // A broken pipe means the child is gone, which its exit reports; anything else is news.
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED' || this.#state === 'ending' || this.#state === 'ended') return
    this.onerror?.(new Error(`stdio server ${this.#options.serverName}: ${stream}: ${err.code ?? err.message}`))
  }
}
