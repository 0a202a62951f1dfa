// A dedicated connection that LISTENs on a channel and reconnects when dropped. After a
// reconnect `onReconnect` runs, because notifications sent while disconnected are lost.
import pg from 'pg'

export interface Listener {
  close (): Promise<void>
}

export interface ListenOptions {
  connectionString: string
  channel: string
  onMessage: (payload: string) => void
  onReconnect?: () => void
  onError?: (err: Error) => void
  retryMs?: number
}

export async function listen (options: ListenOptions): Promise<Listener> {
  let client: pg.Client | undefined
  let closed = false
  let retry: NodeJS.Timeout | undefined

  /**
   * Drops a client for good. A dead client can emit 'error' more than once (the server's FATAL,
   * then the socket's end): without a listener left, that would crash the process.
   */
  const retire = (old: pg.Client | undefined): void => {
    if (!old) return
    old.removeAllListeners()
    old.on('error', () => {})
    old.end().catch(() => {})
  }

  const connect = async (isReconnect: boolean): Promise<void> => {
    const next = new pg.Client({ connectionString: options.connectionString })
    // Only the live client may trigger a reconnect; a failed attempt is retried by its caller.
    next.on('notification', message => {
      if (message.channel === options.channel) options.onMessage(message.payload ?? '')
    })
    next.on('error', err => {
      if (client !== next) return
      options.onError?.(err)
      scheduleReconnect()
    })
    next.on('end', () => {
      if (client === next) scheduleReconnect()
    })
    try {
      await next.connect()
      await next.query(`LISTEN ${pg.escapeIdentifier(options.channel)}`)
    } catch (err) {
      retire(next)
      throw err
    }
    if (closed) return retire(next)
    client = next
    if (isReconnect) options.onReconnect?.()
  }

  const scheduleReconnect = (): void => {
    if (closed || retry) return
    retire(client)
    client = undefined
    retry = setTimeout(() => {
      retry = undefined
      connect(true).catch(err => {
        options.onError?.(err as Error)
        scheduleReconnect()
      })
    }, options.retryMs ?? 1000)
    retry.unref()
  }

  await connect(false)
  return {
    async close () {
      closed = true
      if (retry) clearTimeout(retry)
      const current = client
      client = undefined
      current?.removeAllListeners()
      current?.on('error', () => {})
      await current?.end().catch(() => {})
    }
  }
}
