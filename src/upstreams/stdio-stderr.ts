// A hosted server's stderr, written to the log line by line: secrets masked, each line cut to a
// bound, and at most a given number of bytes per minute (the rest dropped and counted, with one
// "N lines dropped" line), so a chatty or hostile child cannot flood the log or the disk.
// stdout is never logged: it is protocol payload (DESIGN promise 1).
import { StringDecoder } from 'node:string_decoder'
import type { Logger } from 'pino'
import type { Redactor } from './stdio-redact.ts'

export const DEFAULT_STDERR_LINE_LIMIT = 2048
export const DEFAULT_STDERR_BYTES_PER_MINUTE = 64 * 1024

export interface StderrCaptureOptions {
  logger: Logger
  serverName: string
  redactor: Redactor
  /** Characters kept of one line (after redaction). */
  lineLimit: number
  /** Bytes of log text allowed per one-minute window. */
  bytesPerMinute: number
  now?: () => number
  /** Length of a rate window; a minute unless a test says otherwise. */
  windowMs?: number
}

export interface StderrCapture {
  write (chunk: Buffer): void
  /** Logs a last unterminated line and the count of lines dropped in the current window. */
  end (): void
}

export function createStderrCapture (options: StderrCaptureOptions): StderrCapture {
  const { logger, serverName, redactor, lineLimit, bytesPerMinute } = options
  const now = options.now ?? Date.now
  const windowMs = options.windowMs ?? 60_000
  const fields = { server: serverName, stream: 'stderr' }
  const decoder = new StringDecoder('utf8')
  // A line is kept up to the cut plus the longest secret, so a secret that starts before the
  // cut is still whole when redaction runs; the rest of an overlong line is discarded unread.
  const keepChars = lineLimit + redactor.longestSecret
  let pending = ''
  let overlong = false
  let windowStart = -Infinity
  let windowBytes = 0
  let dropped = 0
  let reportTimer: NodeJS.Timeout | undefined
  let ended = false

  const reportDropped = () => {
    clearTimeout(reportTimer)
    reportTimer = undefined
    if (dropped === 0) return
    logger.warn({ ...fields, dropped }, `${dropped} stderr lines dropped (over ${bytesPerMinute} bytes per minute)`)
    dropped = 0
  }

  const emit = (raw: string, cut: boolean) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') return
    let text = redactor.redact(line)
    if (cut || text.length > lineLimit) text = truncate(text, lineLimit) + ' …[truncated]'
    const at = now()
    if (at - windowStart >= windowMs) {
      reportDropped()
      windowStart = at
      windowBytes = 0
    }
    const bytes = Buffer.byteLength(text)
    if (windowBytes + bytes > bytesPerMinute) {
      dropped++
      // Reported when the window ends even if the child falls silent; unref'd so it never holds the process.
      reportTimer ??= setTimeout(() => { windowStart = -Infinity; reportDropped() }, Math.max(0, windowStart + windowMs - at)).unref()
      return
    }
    windowBytes += bytes
    logger.warn(fields, text)
  }

  const take = (text: string) => {
    let start = 0
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      if (overlong) {
        emit(pending, true)
      } else {
        const line = pending + text.slice(start, newline)
        emit(line.length > keepChars ? line.slice(0, keepChars) : line, line.length > keepChars)
      }
      pending = ''
      overlong = false
      start = newline + 1
    }
    if (overlong) return
    pending += text.slice(start)
    if (pending.length > keepChars) {
      pending = pending.slice(0, keepChars)
      overlong = true
    }
  }

  return {
    write (chunk) {
      if (!ended) take(decoder.write(chunk))
    },
    end () {
      if (ended) return
      take(decoder.end())
      if (pending !== '' || overlong) emit(pending, overlong)
      pending = ''
      ended = true
      reportDropped()
    }
  }
}

/** The first `limit` UTF-16 units, without leaving half of a surrogate pair at the end. */
function truncate (text: string, limit: number): string {
  const cut = text.slice(0, limit)
  const last = cut.charCodeAt(cut.length - 1)
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut
}
