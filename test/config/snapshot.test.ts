// Reads of the config (GET /config, REST edits, the compiled snapshot a replica loads) see one
// committed version, never a mix of two applies running past each other.
import t from 'tap'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

/** Every part of the document carries the same mark, so a torn read shows as different marks. */
function marked (mark: string) {
  return {
    variables: [{ name: 'MARK', kind: 'ENV', value: mark }],
    providers: [{ name: 'mock', description: mark, baseUrl: 'http://127.0.0.1:9/' }],
    servers: [{ name: 'demo', title: mark, tools: [{ name: 'one', description: mark, provider: 'mock', method: 'GET', path: '/x', headers: { 'X-Mark': '${MARK}' } }] }]
  }
}

function marksOf (doc: ReturnType<typeof marked>): Array<string | undefined> {
  // A torn read may miss whole rows, hence the optional chaining.
  return [doc.variables[0]?.value, doc.providers[0]?.description, doc.servers[0]?.title, doc.servers[0]?.tools?.[0]?.description]
}

t.test('reads and compiled snapshots never mix two applies', async t => {
  const gw = await startTestGateway(t, { TOOLGATE_RATE_LIMIT_API: '100000/minute' })
  t.equal((await gw.applyConfig(marked('m0'))).status, 200)

  // Every snapshot the gateway compiles must pair a version's document with that version's values.
  const compiled: string[] = []
  gw.gateway.registry.on('changed', config => {
    const tool = config.servers.get('demo')!.tools.get('one')!
    compiled.push(`${tool.descriptor.description}/${tool.staticHeaders['x-mark']}`)
  })

  let writing = true
  const writer = (async () => {
    try {
      for (let i = 1; i <= 30; i++) {
        const response = await gw.applyConfig(marked(`m${i}`))
        if (response.status !== 200) throw new Error(`apply ${i} failed: ${response.status}`)
      }
    } finally {
      writing = false
    }
  })()
  const torn: Array<Array<string | undefined>> = []
  const failures: string[] = []
  let reads = 0
  const reader = async () => {
    while (writing) {
      const response = await gw.admin('GET', '/config')
      if (response.status !== 200) {
        failures.push(`${response.status} ${await response.text()}`)
        continue
      }
      const doc = await response.json() as ReturnType<typeof marked>
      reads++
      const marks = marksOf(doc)
      if (new Set(marks).size !== 1) torn.push(marks)
    }
  }
  await Promise.all([writer, reader(), reader(), reader()])
  t.ok(reads > 0, `read the config ${reads} times while it changed`)
  t.same(failures, [], 'every read succeeded')
  t.same(torn, [], 'every read saw one version')
  t.ok(compiled.length > 0, 'the gateway compiled new versions')
  t.same(compiled.filter(pair => pair.split('/')[0] !== pair.split('/')[1]), [], 'every compiled snapshot is of one version')
  t.equal(compiled.at(-1), 'm30/m30', 'the last version is live')
  t.same(marksOf(await (await gw.admin('GET', '/config')).json() as ReturnType<typeof marked>), ['m30', 'm30', 'm30', 'm30'])
})
