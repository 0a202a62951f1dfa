// A throwaway Redis for a test: Debian's redis-server on a free loopback port, no persistence,
// stopped at teardown. Without redis-server the test fails loudly (CI installs it: .ci/run).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, connect } from 'node:net'
import type { Test } from 'tap'

export interface TestRedis {
  url: string
  port: number
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop (): Promise<void>
  /** Starts it again on the same port. */
  start (): Promise<void>
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

async function answers (port: number): Promise<boolean> {
  return await new Promise<boolean>(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.write('PING\r\n')
      socket.once('data', chunk => { socket.destroy(); resolve(chunk.toString().startsWith('+PONG')) })
    })
    socket.once('error', () => resolve(false))
  })
}

export function redisServerPath (): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : undefined
}

export async function startTestRedis (t: Test): Promise<TestRedis> {
  const binary = redisServerPath()
  if (!binary) throw new Error('redis-server is not installed: this test needs it (apt-get install -y redis-server; .ci/run installs it)')
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] })
    const deadline = Date.now() + 10_000
    while (!await answers(port)) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
      if (Date.now() > deadline) throw new Error('redis-server did not answer within 10 s')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise<void>(resolve => running.once('exit', () => resolve()))
    running.kill('SIGTERM')
    await exited
  }
  await start()
  // A test process that dies without its teardown must not leave the server behind.
  const onExit = () => { child?.kill('SIGKILL') }
  process.once('exit', onExit)
  t.teardown(async () => {
    process.off('exit', onExit)
    await stop()
  })
  return { url: `redis://127.0.0.1:${port}`, port, stop, start }
}
