// A hosted server's stderr in the log: secrets masked, lines cut, bytes per minute bounded with a
// count of what was dropped. First through a real child and the transport, then the capture
// alone with a controlled clock and chunk boundaries.
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { createRedactor } from '../../src/upstreams/stdio-redact.ts'
import { createStderrCapture } from '../../src/upstreams/stdio-stderr.ts'
import { createStdioTransport } from '../../src/upstreams/stdio-transport.ts'
import { captureLog } from '../fixtures/stdio-log-capture.ts'
import { FIXTURE_SERVER, NODE } from '../fixtures/stdio-process-checks.ts'

t.setTimeout(120_000)

const SECRET = 'sk_live_c4n4ry"/+&secret'

t.test('through a real child: every line logged at warn, masked, cut, and bounded per minute', async t => {
  const log = captureLog()
  const transport = createStdioTransport(
    { command: NODE, args: [FIXTURE_SERVER, `--stderr-at-start=starting with key ${SECRET}`], env: { API_KEY: SECRET } },
    { logger: log.logger, redact: [SECRET, ''], serverName: 'chatty', stderrLineLimit: 60, stderrBytesPerMinute: 1000 }
  )
  const client = new Client({ name: 'stdio-stderr-test', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close().catch(() => {}))

  await client.callTool({
    name: 'stderr',
    arguments: {
      lines: [
        `plain: ${SECRET} and again ${SECRET}`,
        `json: {"key":${JSON.stringify(SECRET)}}`,
        `url: https://api.example/?key=${encodeURIComponent(SECRET)}`,
        'x'.repeat(500) + ' tail-that-must-be-cut',
        '',
        'windows line\r'
      ]
    }
  })
  // Exactly 20 bytes per line, so the budget's edge is exact: 1000 bytes allow the lines above
  // plus a known number of these.
  await client.callTool({ name: 'stderr', arguments: { lines: ['flood line 20 bytes.'], repeat: 200 } })
  await client.callTool({ name: 'echo', arguments: { text: 'payload-canary-in-stdout' } })
  await client.close()

  const stderrLines = log.stderrLines()
  const all = log.raw.join('')
  t.notOk(all.includes(SECRET), 'the secret is in no log line')
  t.notOk(all.includes(JSON.stringify(SECRET).slice(1, -1)), 'nor JSON-escaped')
  t.notOk(all.includes(encodeURIComponent(SECRET)), 'nor URL-encoded')
  t.notOk(all.includes('payload-canary-in-stdout'), 'stdout (protocol payload) is never logged')
  t.ok(stderrLines.length > 0 && stderrLines.every(line => line.level === 40 && line.server === 'chatty'), 'each at warn, with the server name and stream')
  const messages = stderrLines.filter(line => line.dropped === undefined).map(line => line.msg)
  t.equal(messages[0], 'starting with key [REDACTED]', 'stderr written before the first request is captured')
  t.equal(messages[1], 'plain: [REDACTED] and again [REDACTED]')
  t.equal(messages[2], 'json: {"key":"[REDACTED]"}')
  t.equal(messages[3], 'url: https://api.example/?key=[REDACTED]')
  t.equal(messages[4], 'x'.repeat(60) + ' …[truncated]', 'a long line is cut to the limit')
  t.equal(messages[5], 'windows line', 'blank lines skipped, CR removed')
  const bytesBeforeFlood = messages.slice(0, 6).reduce((sum, text) => sum + Buffer.byteLength(text), 0)
  const floodLogged = Math.floor((1000 - bytesBeforeFlood) / 20)
  t.equal(messages.length - 6, floodLogged, `${floodLogged} flood lines fit in the budget`)
  t.ok(messages.reduce((sum, text) => sum + Buffer.byteLength(text), 0) <= 1000, 'no more than the budget was logged')
  const droppedLine = stderrLines.find(line => line.dropped !== undefined)
  t.equal(droppedLine?.dropped, 200 - floodLogged, 'the rest is counted')
  t.equal(droppedLine?.msg, `${200 - floodLogged} stderr lines dropped (over 1000 bytes per minute)`)
  t.equal(stderrLines.filter(line => line.dropped !== undefined).length, 1, 'one line for all that was dropped')
})

t.test('the capture alone', async t => {
  const setup = (secrets: string[], lineLimit: number, bytesPerMinute: number) => {
    const log = captureLog()
    let now = 1_000_000
    const capture = createStderrCapture({ logger: log.logger, serverName: 's', redactor: createRedactor(secrets), lineLimit, bytesPerMinute, now: () => now })
    return { capture, log, advance: (ms: number) => { now += ms }, messages: () => log.stderrLines().map(line => line.msg) }
  }

  t.test('a secret split across chunks, and a character split across chunks', async t => {
    const { capture, messages } = setup(['hunter2-secret'], 100, 10_000)
    capture.write(Buffer.from('pass=hunter2-'))
    capture.write(Buffer.from('secret ok\nsnow'))
    const snowman = Buffer.from('☃')
    capture.write(snowman.subarray(0, 1))
    capture.write(Buffer.concat([snowman.subarray(1), Buffer.from(' end\n')]))
    capture.end()
    t.same(messages(), ['pass=[REDACTED] ok', 'snow☃ end'])
  })

  t.test('an overlong line is cut, and a secret straddling the cut is still masked', async t => {
    const secret = 'straddling-secret-value'
    const { capture, messages } = setup([secret], 20, 100_000)
    // The secret starts before the cut (character 20) and ends after it.
    capture.write(Buffer.from('a'.repeat(15) + secret))
    for (let i = 0; i < 1000; i++) capture.write(Buffer.from('b'.repeat(1000)))
    capture.write(Buffer.from(`${secret} end of the long line\nnext\n`))
    capture.end()
    t.same(messages(), ['a'.repeat(15) + '[REDA …[truncated]', 'next'])
  })

  t.test('a secret that is part of another, and one that looks like the mask', async t => {
    const { capture, messages } = setup(['abc', 'xxabcxx', 'RED'], 200, 10_000)
    capture.write(Buffer.from('1 xxabcxx 2 abc 3 RED\n'))
    capture.end()
    t.same(messages(), ['1 [REDACTED] 2 [REDACTED] 3 [REDACTED]'])
  })

  t.test('the budget renews each minute, and what was dropped is reported when the window ends', async t => {
    const { capture, log, advance, messages } = setup([], 100, 35)
    for (let i = 0; i < 5; i++) capture.write(Buffer.from(`line ${i} 10b\n`)) // 10 bytes each: 3 fit
    t.same(messages(), ['line 0 10b', 'line 1 10b', 'line 2 10b'])
    advance(60_000)
    capture.write(Buffer.from('line 5 10b\n'))
    const lines = log.stderrLines()
    t.match(lines[3], { dropped: 2, msg: '2 stderr lines dropped (over 35 bytes per minute)' }, 'the count comes first')
    t.equal(lines[4]?.msg, 'line 5 10b', 'a new window logs again')
    capture.write(Buffer.from('unterminated last line'))
    capture.end()
    capture.write(Buffer.from('after the end\n'))
    t.equal(messages().at(-1), 'unterminated last line', 'end() flushes the last line; nothing after it')
  })

  t.test('what a window dropped is reported when it ends, even if the child falls silent', async t => {
    const log = captureLog()
    const capture = createStderrCapture({ logger: log.logger, serverName: 's', redactor: createRedactor([]), lineLimit: 100, bytesPerMinute: 10, windowMs: 100 })
    capture.write(Buffer.from('0123456789\nthis one is dropped\nand this one\n'))
    t.equal(log.stderrLines().length, 1, 'one line fits')
    await new Promise(resolve => setTimeout(resolve, 250))
    t.match(log.stderrLines()[1], { dropped: 2 }, 'the timer reported the two dropped lines')
    capture.write(Buffer.from('fresh\n'))
    t.equal(log.stderrLines()[2]?.msg, 'fresh', 'and a new window began')
    capture.write(Buffer.from('dropped again\n'))
    capture.end()
    t.match(log.stderrLines().at(-1), { dropped: 1 }, 'end() reports what the current window dropped')
  })
})

t.test('redactor forms', async t => {
  const redactor = createRedactor(['a"b', 'p q'])
  t.equal(redactor.redact('a"b | a\\"b | p%20q | p q'), '[REDACTED] | [REDACTED] | [REDACTED] | [REDACTED]')
  t.equal(createRedactor([]).redact('nothing (.*) to hide'), 'nothing (.*) to hide')
  t.equal(createRedactor(['.*']).redact('abc .* def'), 'abc [REDACTED] def', 'secrets are literal, not patterns')
})
