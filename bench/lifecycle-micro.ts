// Micro-benchmark of what the lifecycle work adds to every MCP request and api call, in steady
// state (no write due): the workspace gate's property read, LastConnected.touch inside its
// interval (a Map lookup) and UpstreamFailureWatch.record of a successful call (a Map delete and
// the board's open-notice check). No HTTP, no Postgres: the first touch's write goes to a stub.
//   node --no-node-snapshot bench/lifecycle-micro.ts [--rounds N] [--calls N]
import { parseArgs } from 'node:util'
import type { Db } from '../src/db/index.ts'
import { WorkspaceState } from '../src/lifecycle/workspace-state.ts'
import { NoticeBoard } from '../src/notifications/board.ts'
import { UpstreamFailureWatch } from '../src/notifications/watchers.ts'
import { LastConnected } from '../src/telemetry/last-connected.ts'
import { createLogger } from '../src/telemetry/logger.ts'
import { median } from './stats.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '21' }, calls: { type: 'string', default: '200000' } } })
const rounds = Number(values.rounds)
const calls = Number(values.calls)

// A query builder that accepts any chain and resolves: the one write of the first touch.
const stub: unknown = new Proxy(function () {}, {
  get: (_target, prop) => prop === 'then' ? undefined : prop === 'execute' ? async () => [] : stub,
  apply: () => stub
})
const db = stub as Db
const logger = createLogger('silent')
const state = new WorkspaceState(db, 'w', { status: 'active', deletionRequestedAt: null, purgeAt: null })
const lastConnected = new LastConnected({ db, workspaceId: 'w', intervalMs: 60_000, logger })
const watch = new UpstreamFailureWatch(new NoticeBoard({ db, workspaceId: 'w', logger }))
const servers = ['shop', 'github', 'petstore', 'billing']
const success = { upstreamStatus: 200 }

function loop (withWork: boolean): number {
  let gated = 0
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    const server = servers[i & 3]!
    if (withWork) {
      if (!state.active) gated++
      lastConnected.touch(server)
      watch.record(server, 'get', success)
    } else if (server.length === 0) {
      gated++
    }
  }
  if (gated > 0) throw new Error('unexpected')
  return Number(process.hrtime.bigint() - started) / calls
}

for (let i = 0; i < 3; i++) { loop(true); loop(false) } // warm-up (JIT)
const added: number[] = []
for (let round = 0; round < rounds; round++) added.push(loop(true) - loop(false))
await lastConnected.settle()
console.log(`lifecycle hot path, per request: median ${median(added).toFixed(1)} ns added (${rounds} rounds × ${calls} calls; min ${Math.min(...added).toFixed(1)}, max ${Math.max(...added).toFixed(1)})`)
