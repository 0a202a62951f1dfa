// Runs the real `toolgate` command (bin/toolgate.js on the project's Node 24) as a child process.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { freshDatabase } from './database.ts'
import { openTestDb } from './gateway.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
export const BIN = fileURLToPath(new URL('../../bin/toolgate.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Only the variables given (plus PATH/HOME), so the caller's environment cannot leak in. */
export function cliEnv (env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env }
}

export async function runCli (args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return await new Promise(resolve => {
    execFile(NODE, ['--no-node-snapshot', BIN, ...args], { cwd: ROOT, env: cliEnv(env), timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/**
 * A fresh database, key ring and data dir for CLI runs, with a direct connection for assertions.
 * Everything is removed at the end of the test.
 */
export async function cliSetup (t: Test) {
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-cli-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const env = {
    DATABASE_URL: await freshDatabase(),
    TOOLGATE_ENCRYPTION_KEYS: KeyRing.generateSpec('cli1'),
    TOOLGATE_DATA_DIR: dataDir
  }
  const handle = openTestDb(env.DATABASE_URL)
  t.teardown(() => handle.db.destroy())
  return { env, dataDir, db: handle.db, run: (...args: string[]) => runCli(args, env) }
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface Running {
  child: ChildProcess
  stdout: string
  stderr: string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Starts src/main.ts (the real process entry) and waits (bounded) until it printed its banner. */
export async function startMain (env: Record<string, string>): Promise<Running> {
  const child = spawn(NODE, ['--no-node-snapshot', 'src/main.ts'], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  const running: Running = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  }
  child.stdout!.on('data', chunk => { running.stdout += chunk })
  child.stderr!.on('data', chunk => { running.stderr += chunk })
  const deadline = Date.now() + 90_000
  // The banner (one write) ends with a blank line after the listening address.
  const started = () => {
    const at = running.stdout.indexOf('Toolgate is listening on')
    return at >= 0 && running.stdout.indexOf('\n\n', at) >= 0
  }
  while (!started()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`main.ts did not start: ${running.stderr}`)
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return running
}

/**
 * Teardown for a main.ts that may still run (a failed test): kill it, then the embedded cluster it
 * started, which would otherwise outlive it as an orphan. Only a postmaster serving `dataDir` is
 * signalled (checked through /proc, in case the pid file is stale and the pid reused).
 */
export async function killMain (running: Running, dataDir: string): Promise<void> {
  if (running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL')
    await running.exited
  }
  let pid: number
  try {
    pid = Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
    if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(dataDir)) return
  } catch {
    return // no cluster left running
  }
  process.kill(pid, 'SIGINT') // fast shutdown
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  process.kill(pid, 'SIGKILL')
}
