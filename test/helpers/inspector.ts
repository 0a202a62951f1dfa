// Runs the MCP Inspector CLI (the installed devDependency, never an `npx -y` download) as a child
// process under the project's own Node 24, with a private HOME so it reads and writes nothing of
// the machine's (catalog, client config, OAuth state), secrets kept in memory, and stdin not a TTY
// (so it never starts an interactive OAuth login). Every child has a deadline and is killed, with
// its process group, in the test's teardown if it is still running.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

const root = fileURLToPath(new URL('../../', import.meta.url))
export const PROJECT_NODE = join(root, 'node_modules/.bin/node')
export const INSPECTOR_BIN = join(root, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js')

export interface InspectorRun {
  /** Exit status, or null when the child ended by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  /** True when the deadline passed and the child was killed. */
  timedOut: boolean
  stdout: string
  stderr: string
}

export interface Inspector {
  /** `mcp-inspector --cli <args…>`; resolves when the child has exited. */
  run (args: string[], options?: { timeoutMs?: number }): Promise<InspectorRun>
}

function killGroup (child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, 'SIGKILL') // detached: the child leads its own process group
  } catch {
    child.kill('SIGKILL')
  }
}

export async function inspectorCli (t: Test): Promise<Inspector> {
  const home = await mkdtemp(join(tmpdir(), 'toolgate-inspector-home-'))
  const running = new Set<ChildProcess>()
  t.teardown(async () => {
    for (const child of running) killGroup(child)
    await rm(home, { recursive: true, force: true })
  })
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    MCP_CATALOG_PATH: join(home, 'mcp.json'),
    MCP_CLIENT_CONFIG_PATH: join(home, 'client.json'),
    MCP_INSPECTOR_SECRET_STORE: 'memory',
    NO_COLOR: '1'
  }
  return {
    run (args, { timeoutMs = 60_000 } = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(PROJECT_NODE, [INSPECTOR_BIN, '--cli', ...args], {
          cwd: home,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true
        })
        running.add(child)
        let stdout = ''
        let stderr = ''
        let timedOut = false
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
        const timer = setTimeout(() => {
          timedOut = true
          killGroup(child)
        }, timeoutMs)
        child.once('error', err => {
          clearTimeout(timer)
          running.delete(child)
          reject(err)
        })
        child.once('close', (code, signal) => {
          clearTimeout(timer)
          running.delete(child)
          resolve({ code, signal, timedOut, stdout, stderr })
        })
      })
    }
  }
}
