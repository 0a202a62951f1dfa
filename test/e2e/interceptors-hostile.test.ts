// Every hostile interceptor of the engine suite (test/interceptors/hostile-cases.ts), through the
// real gateway and the MCP SDK client: each call gets a clear isError result naming the
// interceptor, the log says how it failed (kind, never the message), the gateway process lives
// on, and a normal call right after succeeds. Then one hostile interceptor is hammered alongside
// 100 normal calls, which must all succeed.
import t from 'tap'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { startMockUpstream } from '../fixtures/mock-upstream.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'
import { HOSTILE_CASES, type HostileCase } from '../interceptors/hostile-cases.ts'

useTestCluster(t)

interface Result {
  content: Array<{ type: string, text?: string }>
  isError?: boolean
}

const textOf = (result: unknown) => (result as Result).content[0]?.text ?? ''
const interceptorName = (i: number) => `hostile-${i}`

/** An object input of a case, or undefined. */
const objectInput = (hostile: HostileCase) =>
  hostile.input !== null && typeof hostile.input === 'object' && !Array.isArray(hostile.input) ? hostile.input as Record<string, unknown> : undefined

function toolFor (hostile: HostileCase, i: number) {
  const interceptor = { name: interceptorName(i), js: hostile.code, ...hostile.limits }
  const input = objectInput(hostile)
  if (hostile.phase === 'request') {
    return { name: `h_${i}`, provider: 'mock', method: 'POST', path: '/echo/hostile', input: { type: 'object' }, request: [interceptor] }
  }
  if (input) {
    // The case's own input comes back from the upstream: its arguments, reflected as the body.
    const properties = Object.fromEntries(Object.keys(input).map(key => [key, {}]))
    return { name: `h_${i}`, provider: 'mock', method: 'POST', path: '/reflect', input: { type: 'object', properties }, response: [interceptor] }
  }
  return { name: `h_${i}`, provider: 'mock', method: 'GET', path: '/users/{id}', input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: [interceptor] }
}

const normalTool = {
  name: 'normal',
  provider: 'mock',
  method: 'GET',
  path: '/users/{id}',
  input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  // A generous limit: on a busy 2-core machine, next to spinning hostile isolates, a normal run can
  // wait for a core; what is under test is that it is not broken, not how fast it is.
  response: [{ name: 'pick', js: '(user, ctx) => ({ id: user.id, via: ctx.tool })', timeoutMs: 2000 }]
}

async function normalCall (client: Client, id: string): Promise<void> {
  const result = await client.callTool({ name: 'normal', arguments: { id } }) as Result
  if (result.isError || JSON.parse(textOf(result)).id !== id) throw new Error(`normal call ${id} failed: ${textOf(result)}`)
}

const argumentsFor = (hostile: HostileCase) => objectInput(hostile) ?? (hostile.phase === 'request' ? {} : { id: 'victim' })

t.test('hostile interceptors through the gateway', async t => {
  const upstream = await startMockUpstream({ record: false })
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { LOG_LEVEL: 'info' })
  const runnable = HOSTILE_CASES.map((hostile, i) => ({ hostile, i })).filter(({ hostile }) => hostile.expect !== 'syntax')
  t.ok(HOSTILE_CASES.length >= 30, `${HOSTILE_CASES.length} hostile cases`)

  const applied = await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{ name: 'hostile', tools: [normalTool, ...runnable.map(({ hostile, i }) => toolFor(hostile, i))] }]
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const client = await gw.connect('hostile', await gw.createKey())
  await normalCall(client, 'warm')

  for (const { hostile, i } of runnable) {
    await t.test(hostile.name, async t => {
      const result = await client.callTool({ name: `h_${i}`, arguments: argumentsFor(hostile) }) as Result
      if (hostile.expect === 'ok-contained') {
        t.notOk(result.isError, `contained and answered: ${textOf(result)}`)
        if (hostile.output !== undefined && hostile.phase === 'response') {
          const output = typeof hostile.output === 'string' ? textOf(result) : JSON.parse(textOf(result))
          t.same(output, hostile.output, 'with the exact output')
        }
        t.same(Object.keys(Object.prototype), [], 'the gateway\'s own Object.prototype is untouched')
        t.equal(({} as Record<string, unknown>).polluted, undefined)
      } else {
        t.equal(result.isError, true, 'an isError result')
        t.match(textOf(result), new RegExp(`Interceptor "${interceptorName(i)}"`), 'naming the interceptor')
        if (hostile.message) t.match(textOf(result), hostile.message)
        if (hostile.line !== undefined) t.match(textOf(result), new RegExp(`at line ${hostile.line}\\b`), 'naming the line')
        const line = gw.logs.map(l => JSON.parse(l) as { tool?: string, interceptor?: { kind: string } }).findLast(l => l.tool === `h_${i}`)
        t.equal(line?.interceptor?.kind, hostile.expect, 'the log line says how it failed')
      }
      await normalCall(client, `after-${i}`)
      t.pass('the gateway is alive and a normal call right after succeeds')
    })
  }

  await t.test('syntax errors are refused at apply, with their path; the running config stays', async t => {
    const broken = HOSTILE_CASES.map((hostile, i) => ({ hostile, i })).filter(({ hostile }) => hostile.expect === 'syntax')
    t.ok(broken.length >= 1, 'the suite has a syntax case')
    for (const { hostile, i } of broken) {
      const refused = await gw.applyConfig({
        providers: [{ name: 'mock', baseUrl: upstream.url }],
        servers: [{ name: 'hostile', tools: [normalTool, toolFor(hostile, i)] }]
      })
      t.equal(refused.status, 400, hostile.name)
      t.match(await refused.text(), new RegExp(`servers\\[0\\]\\.tools\\[1\\]\\.${hostile.phase}\\[0\\]\\.js`))
    }
    await normalCall(client, 'after-syntax')
  })
})

t.test('a hostile interceptor hammered alongside 100 normal calls', async t => {
  const upstream = await startMockUpstream({ record: false })
  t.teardown(() => upstream.close())
  const gw = await startTestGateway(t, { LOG_LEVEL: 'warn' })
  const applied = await gw.applyConfig({
    providers: [{ name: 'mock', baseUrl: upstream.url }],
    servers: [{
      name: 'mixed',
      tools: [
        normalTool,
        { ...normalTool, name: 'spin', response: [{ name: 'spin', js: '() => { while (true) {} }', timeoutMs: 100 }] },
        { ...normalTool, name: 'bomb', response: [{ name: 'bomb', js: '() => { const a = []; for (;;) a.push(new Array(1e5).fill(1)) }', memoryMb: 16, timeoutMs: 2000 }] }
      ]
    }]
  })
  t.equal(applied.status, 200, await applied.clone().text())
  const key = await gw.createKey()
  const hostileClient = await gw.connect('mixed', key)
  const client = await gw.connect('mixed', key)

  const hostile = Array.from({ length: 20 }, (_, i) => hostileClient.callTool({ name: i % 2 === 0 ? 'spin' : 'bomb', arguments: { id: `h${i}` } }) as Promise<Result>)
  const normal = Array.from({ length: 100 }, (_, i) => normalCall(client, `n${i}`).then(() => 'ok', (err: Error) => err.message))
  const [hostileResults, normalResults] = await Promise.all([Promise.all(hostile), Promise.all(normal)])
  t.same(normalResults.filter(r => r !== 'ok'), [], 'all 100 normal calls succeeded')
  t.ok(hostileResults.every(r => r.isError === true), 'every hostile call got an error result')
  t.ok(hostileResults.some(r => /timed out/.test(textOf(r))), 'the loop timed out')
  t.ok(hostileResults.some(r => /memory/.test(textOf(r))), 'the memory bomb hit its limit')
  await normalCall(client, 'afterwards')
})
