// Reads a live SSE response event by event, for the long-lived MCP streams (GET and
// subscriptions/listen) whose body never ends on its own.

export interface SseEvent {
  id?: string
  event?: string
  retry?: number
  data: string
  /** The data parsed as JSON, when it is JSON. */
  json?: any
}

export interface SseReader {
  response: Response
  /** Comment lines seen so far (keep-alives). */
  comments: string[]
  /** The next event, or undefined when the stream ended or `ms` passed first. */
  next (ms?: number): Promise<SseEvent | undefined>
  close (): Promise<void>
}

export async function openSse (url: string, init: RequestInit): Promise<SseReader> {
  const controller = new AbortController()
  const response = await fetch(url, { ...init, signal: controller.signal })
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const comments: string[] = []
  const queue: SseEvent[] = []
  let buffer = ''
  let ended = false
  let pending: Promise<void> | undefined

  const parse = (): void => {
    let boundary: number
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary)
      buffer = buffer.slice(boundary + 2)
      const event: SseEvent = { data: '' }
      let hasField = false
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) { comments.push(line); continue }
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        hasField = true
        if (field === 'data') event.data += (event.data ? '\n' : '') + value
        else if (field === 'id') event.id = value
        else if (field === 'event') event.event = value
        else if (field === 'retry') event.retry = Number(value)
      }
      if (!hasField) continue
      try { event.json = JSON.parse(event.data) } catch {}
      queue.push(event)
    }
  }

  const pump = (): Promise<void> => {
    pending ??= reader.read().then(({ value, done }) => {
      pending = undefined
      if (done) { ended = true; return }
      buffer += decoder.decode(value, { stream: true })
      parse()
    }, () => { pending = undefined; ended = true })
    return pending
  }

  return {
    response,
    comments,
    async next (ms = 5000) {
      const deadline = Date.now() + ms
      while (queue.length === 0 && !ended) {
        const left = deadline - Date.now()
        if (left <= 0) return undefined
        let timer: NodeJS.Timeout | undefined
        await Promise.race([pump(), new Promise(resolve => { timer = setTimeout(resolve, left) })])
        clearTimeout(timer)
      }
      return queue.shift()
    },
    async close () {
      controller.abort()
      await reader.cancel().catch(() => {})
    }
  }
}
