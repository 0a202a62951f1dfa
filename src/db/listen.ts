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

  const connect = async (isReconnect: boolean): Promise<void> => {
    const next = new pg.Client({ connectionString: options.connectionString })
    next.on('notification', message => {
      if (message.channel === options.channel) options.onMessage(message.payload ?? '')
    })
    next.on('error', err => {
      options.onError?.(err)
      scheduleReconnect()
    })
    next.on('end', () => scheduleReconnect())
    await next.connect()
    await next.query(`LISTEN ${pg.escapeIdentifier(options.channel)}`)
    client = next
    if (isReconnect) options.onReconnect?.()
  }

  const scheduleReconnect = (): void => {
    if (closed || retry) return
    client?.removeAllListeners()
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
      await current?.end().catch(() => {})
    }
  }
}
