// The README walkthrough, end to end with the official MCP SDK client: examples/mock-api.ts as the
// upstream, examples/petstore.yaml as the config (only PETSTORE_URL changed to the mock's port),
// and every tool call the README shows.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import type { ConfigDocument } from '../../src/config/document.ts'
import { validateDocument } from '../../src/config/validate.ts'
import { startMockApi } from '../../examples/mock-api.ts'
import { startTestGateway, useTestCluster } from '../helpers/gateway.ts'

useTestCluster(t)

const document = parseYaml(readFileSync(fileURLToPath(new URL('../../examples/petstore.yaml', import.meta.url)), 'utf8')) as ConfigDocument

type Content = Array<{ type: string, text?: string, mimeType?: string }>

t.test('examples/petstore.yaml is a valid config document', async t => {
  t.doesNotThrow(() => validateDocument(document))
  t.equal(document.variables?.find(v => v.name === 'PETSTORE_URL')?.value, 'http://127.0.0.1:4010', 'it points at the mock API\'s default address')
})

t.test('the walkthrough: apply the example, list and call its tools', async t => {
  const api = await startMockApi(0)
  t.teardown(() => api.close())
  const gw = await startTestGateway(t)
  const config = structuredClone(document)
  config.variables!.find(v => v.name === 'PETSTORE_URL')!.value = api.url
  const applied = await gw.applyConfig(config)
  t.equal(applied.status, 200, await applied.clone().text())

  const client = await gw.connect('petstore', await gw.createKey({ endUser: 'me' }))
  const { tools } = await client.listTools()
  t.same(tools.map(tool => tool.name), ['list_pets', 'get_pet', 'add_pet', 'get_pet_photo'])

  const cats = await client.callTool({ name: 'list_pets', arguments: { species: 'cat' } })
  t.notOk(cats.isError)
  t.same(JSON.parse((cats.content as Content)[0]!.text!), [{ id: 1, name: 'Tom', species: 'cat', tags: ['indoor'] }])

  const rex = await client.callTool({ name: 'get_pet', arguments: { petId: 2 } })
  t.same(rex.structuredContent, { id: 2, name: 'Rex', species: 'dog', tags: ['good boy'] }, 'output schema → structuredContent')

  const added = await client.callTool({ name: 'add_pet', arguments: { name: 'Nibbles', species: 'cat', tags: ['small'], requestId: 'demo-1' } })
  t.notOk(added.isError)
  t.match(JSON.parse((added.content as Content)[0]!.text!), { id: 4, name: 'Nibbles', species: 'cat', tags: ['small'] })

  const photo = await client.callTool({ name: 'get_pet_photo', arguments: { petId: 1 } })
  t.match(photo.content, [{ type: 'image', mimeType: 'image/png' }])

  const missing = await client.callTool({ name: 'get_pet', arguments: { petId: 99 } })
  t.equal(missing.isError, true)
  t.match((missing.content as Content)[0]!.text, /^Upstream responded 404 Not Found: \{"error":"no pet with id 99"\}/)

  const fish = await client.callTool({ name: 'list_pets', arguments: { species: 'fish' } })
  t.equal(fish.isError, true)
  t.match((fish.content as Content)[0]!.text, /Invalid arguments for tool list_pets: species: must be one of "cat", "dog", "bird"/)
})

t.test('the mock API wants the token the example sends', async t => {
  const api = await startMockApi(0)
  t.teardown(() => api.close())
  t.equal((await fetch(`${api.url}/v1/pets`)).status, 401)
  t.equal((await fetch(`${api.url}/v1/pets`, { headers: { authorization: 'Bearer petstore-demo-token' } })).status, 200)
})
