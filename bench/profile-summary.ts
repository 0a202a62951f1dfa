// Summarises a V8 .cpuprofile (what `node --cpu-prof` writes): where the busy time went, by
// function (self time), by file/package (self time) and by project function (inclusive time).
//
//   node --no-node-snapshot bench/profile-summary.ts <file.cpuprofile> [--top 25] [--from <µs>] [--to <µs>]
//
// --from/--to keep only samples taken in that window, in the profile's clock (CLOCK_MONOTONIC µs,
// the same clock as process.hrtime in the profiled process): bench/run.ts --profile passes the load
// window so start-up and shutdown are left out.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface SummaryOptions {
  top?: number
  from?: number
  to?: number
  /** Absolute path of the project, to shorten file URLs. */
  root?: string
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)'])

/** A short location for a frame: src/…, <package>/…, node:…, or (native). */
function shortFile (url: string, root: string): string {
  if (url === '') return '(native)'
  let path = url.startsWith('file://') ? fileURLToPath(url) : url
  const nm = path.lastIndexOf('/node_modules/')
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length)
  if (path.startsWith(root + '/')) path = path.slice(root.length + 1)
  return path
}

/** The bucket a frame's self time is grouped under: a project file, an npm package, a node module. */
function group (frame: CallFrame, root: string): string {
  if (SPECIAL.has(frame.functionName) && frame.url === '') return frame.functionName
  const file = shortFile(frame.url, root)
  if (file === '(native)') return '(native: V8 builtins, C++)'
  if (frame.url.startsWith('node:')) return file
  const nm = frame.url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const parts = file.split('/')
    return 'npm:' + (parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!)
  }
  return file
}

function label (frame: CallFrame, root: string): string {
  const name = frame.functionName || '(anonymous)'
  if (frame.url === '') return name
  return `${name}  ${shortFile(frame.url, root)}:${frame.lineNumber + 1}`
}

function isProjectFrame (frame: CallFrame, root: string): boolean {
  if (!frame.url.startsWith('file://')) return false
  const path = fileURLToPath(frame.url)
  return path.startsWith(root + '/') && !path.includes('/node_modules/')
}

function pct (part: number, whole: number): string {
  return whole > 0 ? `${(100 * part / whole).toFixed(1).padStart(5)}%` : '  n/a'
}

function ms (us: number): string {
  return (us / 1000).toFixed(1).padStart(8)
}

export function summarizeProfile (profile: CpuProfile, options: SummaryOptions = {}): string {
  const top = options.top ?? 25
  const root = options.root ?? process.cwd()
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }

  // Sample i is taken at startTime + Σ deltas[0..i] and lasts until the next sample.
  const selfByNode = new Map<number, number>()
  const inclusiveProject = new Map<string, number>()
  let t = profile.startTime
  const times: number[] = new Array(profile.samples.length)
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    times[i] = t
  }
  let total = 0
  let idle = 0
  let windowStart = Number.POSITIVE_INFINITY
  let windowEnd = Number.NEGATIVE_INFINITY
  for (let i = 0; i < profile.samples.length; i++) {
    const at = times[i]!
    if (options.from !== undefined && at < options.from) continue
    if (options.to !== undefined && at > options.to) continue
    const next = i + 1 < times.length ? times[i + 1]! : profile.endTime
    const duration = Math.max(0, next - at)
    windowStart = Math.min(windowStart, at)
    windowEnd = Math.max(windowEnd, next)
    const id = profile.samples[i]!
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + duration)
    total += duration
    const frame = byId.get(id)?.callFrame
    if (frame?.functionName === '(idle)') {
      idle += duration
      continue
    }
    // Inclusive time of project functions: each counted once per sample however deep it recurs.
    const seen = new Set<string>()
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const f = byId.get(node)!.callFrame
      if (!isProjectFrame(f, root)) continue
      const key = label(f, root)
      if (seen.has(key)) continue
      seen.add(key)
      inclusiveProject.set(key, (inclusiveProject.get(key) ?? 0) + duration)
    }
  }
  const busy = total - idle

  const selfByFunction = new Map<string, number>()
  const selfByGroup = new Map<string, number>()
  for (const [id, duration] of selfByNode) {
    const frame = byId.get(id)!.callFrame
    if (frame.functionName === '(idle)') continue
    const key = label(frame, root)
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + duration)
    const g = group(frame, root)
    selfByGroup.set(g, (selfByGroup.get(g) ?? 0) + duration)
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)

  const lines: string[] = []
  const span = windowEnd - windowStart
  lines.push(`window ${ms(span).trim()} ms · sampled ${ms(total).trim()} ms · busy ${ms(busy).trim()} ms (${pct(busy, total).trim()} of the window) · idle ${ms(idle).trim()} ms`)
  lines.push('')
  lines.push(`Top ${top} functions by self time (% of busy time):`)
  for (const [key, us] of sorted(selfByFunction)) lines.push(`  ${ms(us)} ms ${pct(us, busy)}  ${key}`)
  lines.push('')
  lines.push(`Self time by file / package (% of busy time):`)
  for (const [key, us] of sorted(selfByGroup)) lines.push(`  ${ms(us)} ms ${pct(us, busy)}  ${key}`)
  lines.push('')
  lines.push(`Project functions by inclusive time (synchronous stacks only; % of busy time):`)
  for (const [key, us] of sorted(inclusiveProject)) lines.push(`  ${ms(us)} ms ${pct(us, busy)}  ${key}`)
  return lines.join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, from: { type: 'string' }, to: { type: 'string' } }
  })
  const file = positionals[0]
  if (!file) {
    console.error('usage: bench/profile-summary.ts <file.cpuprofile> [--top N] [--from µs] [--to µs]')
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const options: SummaryOptions = { top: Number(values.top), root: fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '') }
  if (values.from !== undefined) options.from = Number(values.from)
  if (values.to !== undefined) options.to = Number(values.to)
  console.log(summarizeProfile(profile, options))
}
