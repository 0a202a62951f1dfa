// Server-Sent Events framing for Streamable HTTP responses.

export function sseMessage (json: string, eventId?: string): string {
  // JSON.stringify never emits raw line breaks, so one data line carries the whole message.
  return (eventId ? `id: ${eventId}\n` : '') + `event: message\ndata: ${json}\n\n`
}
