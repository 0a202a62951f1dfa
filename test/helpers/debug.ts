// The live debug console from a test's side: open a server's stream (admin token or debug token),
// wait for its `ready` event, collect events; and a raw-socket subscriber that stops reading.
import { connect, type Socket } from 'node:net'
import { ADMIN_TOKEN } from './gateway.ts'
import { openSse, type SseEvent, type SseReader } from './sse.ts'

export interface DebugReader {
  reader: SseReader
  ready: any
  /** Every event read so far (ready included), in order; `raw` is the whole stream text seen. */
  events: SseEvent[]
  raw: () => string
  /** Reads until `until` holds for the events so far, or `ms` pass; returns the events read. */
  readUntil (until: (events: SseEvent[]) => boolean, ms?: number): Promise<SseEvent[]>
  /** Reads whatever arrives within `ms`. */
  drain (ms: number): Promise<SseEvent[]>
  close (): Promise<void>
}

export interface DebugOpenOptions {
  /** A debug token sent as a bearer header; `query` sends it as ?token= instead. */
  token?: string
  query?: string
  /** No credentials at all. */
  anonymous?: boolean
}

export async function openDebug (baseUrl: string, server: string, options: DebugOpenOptions = {}): Promise<DebugReader> {
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (!options.anonymous && options.query === undefined) headers.authorization = `Bearer ${options.token ?? ADMIN_TOKEN}`
  const url = `${baseUrl}/api/v1/servers/${server}/debug${options.query !== undefined ? `?token=${encodeURIComponent(options.query)}` : ''}`
  const reader = await openSse(url, { headers })
  if (reader.response.status !== 200) {
    await reader.close()
    // The reader holds the body: ask again for the error's text (a refused request changes nothing).
    const again = await fetch(url, { headers })
    const text = await again.text()
    throw Object.assign(new Error(`debug stream: ${again.status} ${text}`), { status: again.status, body: text })
  }
  const events: SseEvent[] = []
  const texts: string[] = []
  const take = (event: SseEvent | undefined) => {
    if (!event) return false
    events.push(event)
    texts.push(event.data)
    return true
  }
  const first = await reader.next(5000)
  if (!first || first.event !== 'ready') throw new Error(`debug stream: expected a ready event first, got ${JSON.stringify(first)}`)
  take(first)
  return {
    reader,
    ready: first.json,
    events,
    raw: () => texts.join('\n'),
    async readUntil (until, ms = 5000) {
      const deadline = Date.now() + ms
      const start = events.length
      while (!until(events) && Date.now() < deadline) {
        if (!take(await reader.next(Math.max(1, deadline - Date.now())))) break
      }
      return events.slice(start)
    },
    async drain (ms) {
      const deadline = Date.now() + ms
      const start = events.length
      while (Date.now() < deadline) if (!take(await reader.next(Math.max(1, deadline - Date.now())))) break
      return events.slice(start)
    },
    close: () => reader.close()
  }
}

/** The events of one call, by the call id of its mcp_request. */
export function callEvents (events: SseEvent[], callId: string): SseEvent[] {
  return events.filter(event => event.json?.callId === callId)
}

/** The call ids of finished calls (a result or error event), in order. */
export function finishedCalls (events: SseEvent[]): string[] {
  return events.filter(event => event.event === 'result' || event.event === 'error').map(event => event.json.callId as string)
}

/** A subscriber on a raw socket: it reads the response head and the ready event, then stops reading. */
export interface StalledSubscriber {
  socket: Socket
  /** Resumes reading; resolves with the text read once `until` holds for it (or after `ms`). */
  resume (until: (text: string) => boolean, ms?: number): Promise<string>
  close (): void
}

export async function stalledSubscriber (baseUrl: string, server: string, token = ADMIN_TOKEN): Promise<StalledSubscriber> {
  const url = new URL(baseUrl)
  const socket = connect(Number(url.port), url.hostname)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.write(`GET /api/v1/servers/${server}/debug HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`)
  let text = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stalled subscriber: no ready event')), 5000)
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1')
      if (text.includes('event: ready')) {
        clearTimeout(timer)
        socket.off('data', onData)
        // Stop reading: the kernel buffers fill, then the gateway's writes stop draining.
        socket.pause()
        resolve()
      }
    }
    socket.on('data', onData)
  })
  if (!text.startsWith('HTTP/1.1 200')) throw new Error(`stalled subscriber: ${text.split('\r\n')[0]}`)
  return {
    socket,
    async resume (until, ms = 10_000) {
      let read = ''
      return await new Promise<string>(resolve => {
        const timer = setTimeout(() => { socket.off('data', onData); resolve(read) }, ms)
        const onData = (chunk: Buffer) => {
          read += chunk.toString('utf8')
          if (until(read)) {
            clearTimeout(timer)
            socket.off('data', onData)
            socket.pause()
            resolve(read)
          }
        }
        socket.on('data', onData)
        socket.resume()
      })
    },
    close: () => socket.destroy()
  }
}
