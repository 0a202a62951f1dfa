// What response interceptors save: for each server × tool, how many calls ran a response chain
// and the bytes before (upstream body) and after (what the tool returned). Sizes only, in memory;
// the observability issue flushes these as aggregates and turns them into token figures.

export interface SavingsRow {
  server: string
  tool: string
  calls: number
  bytesBefore: number
  bytesAfter: number
}

export class InterceptorSavings {
  private readonly rows = new Map<string, SavingsRow>()

  record (server: string, tool: string, bytesBefore: number, bytesAfter: number): void {
    const key = `${server}\u0000${tool}`
    let row = this.rows.get(key)
    if (!row) {
      row = { server, tool, calls: 0, bytesBefore: 0, bytesAfter: 0 }
      this.rows.set(key, row)
    }
    row.calls++
    row.bytesBefore += bytesBefore
    row.bytesAfter += bytesAfter
  }

  /** Copies, sorted by server then tool; optionally one server's. */
  snapshot (server?: string): SavingsRow[] {
    return [...this.rows.values()]
      .filter(row => server === undefined || row.server === server)
      .map(row => ({ ...row }))
      .sort((a, b) => a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool))
  }
}
