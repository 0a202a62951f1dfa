// Re-import is an upsert by method + path: the importer owns the call's shape, the operator owns
// everything else on a tool (names, titles, descriptions, interceptor arrays, fields unknown here).
import t from 'tap'
import type { ConfigDocument } from '../../src/config/document.ts'
import { planImport } from '../../src/openapi/index.ts'
import { loadOpenApi } from '../../src/openapi/load.ts'

const spec = (extra: Record<string, unknown> = {}) => ({
  openapi: '3.1.0',
  info: { title: 'Pets', version: '1' },
  servers: [{ url: 'https://{region}.pets.example/v1', variables: { region: { default: 'eu' } } }],
  components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
  security: [{ token: [] }],
  paths: {
    '/pets/{petId}': {
      get: { operationId: 'getPet', summary: 'Get a pet', parameters: [{ name: 'petId', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } },
      ...extra
    },
    '/pets': { get: { summary: 'List pets', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }], responses: { 200: { description: 'ok' } } } }
  }
})

t.test('a first import, then a re-import that keeps the operator\'s fields', async t => {
  const doc: ConfigDocument = {}
  const first = planImport(doc, await loadOpenApi(spec()), { server: 'pets' })
  t.same(first.created, ['getPet', 'get_pets'], 'operationId, else method + path')
  t.same(doc.providers, [{ name: 'pets', baseUrl: 'https://${PETS_REGION}.pets.example/v1', description: 'Pets', headers: { Authorization: 'Bearer ${PETS_TOKEN}' } }])
  t.same(doc.variables!.map(v => [v.name, v.kind, v.value]), [['PETS_REGION', 'ENV', 'eu'], ['PETS_TOKEN', 'SECRET', '']])
  t.same(first.variablesNeedingValues.map(v => v.name), ['PETS_TOKEN'])

  // The operator renames, re-describes, adds interceptors and a field this importer does not know.
  const tool = doc.servers![0]!.tools![0]! as unknown as Record<string, unknown>
  Object.assign(tool, { name: 'fetch_pet', description: 'Mine', title: 'My title', request: [{ jmespath: '@' }], response: [{ js: 'x' }], timeoutMs: 5, annotations: { readOnlyHint: false } })
  doc.providers![0]!.baseUrl = 'https://staging.example'

  const again = planImport(doc, await loadOpenApi(spec({ delete: { operationId: 'deletePet', parameters: [{ name: 'petId', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'gone' } } } })), { server: 'pets' })
  t.same(again.created, ['deletePet'])
  t.same(again.unchanged.sort(), ['fetch_pet', 'get_pets'])
  const kept = doc.servers![0]!.tools!.find(x => x.name === 'fetch_pet') as unknown as Record<string, unknown>
  t.match(kept, { name: 'fetch_pet', description: 'Mine', title: 'My title', request: [{ jmespath: '@' }], response: [{ js: 'x' }], timeoutMs: 5, annotations: { readOnlyHint: false } })
  t.equal(doc.providers![0]!.baseUrl, 'https://staging.example', 'an existing provider keeps its base URL')

  // The document changes an owned field: updated, the operator's fields still kept.
  const changed = spec()
  ;(changed.paths['/pets/{petId}'].get.parameters as unknown[]).push({ name: 'fields', in: 'query', schema: { type: 'string' } })
  const third = planImport(doc, await loadOpenApi(changed), { server: 'pets', prune: true })
  t.same(third.updated, ['fetch_pet'])
  t.same(third.removed, [{ name: 'deletePet', method: 'DELETE', path: '/pets/{petId}', pruned: true }])
  const updated = doc.servers![0]!.tools!.find(x => x.name === 'fetch_pet') as unknown as Record<string, any>
  t.same(Object.keys(updated.input.properties), ['petId', 'fields'])
  t.same(updated.request, [{ jmespath: '@' }])
  t.same(doc.servers![0]!.tools!.map(x => x.name), ['fetch_pet', 'get_pets'])
})

t.test('filters: tags, path globs, methods, operationIds', async t => {
  const doc: ConfigDocument = {}
  const document = spec({ delete: { operationId: 'deletePet', tags: ['admin'], parameters: [{ name: 'petId', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'gone' } } } })
  const plan = planImport(doc, await loadOpenApi(document), { server: 'pets', excludeTags: ['admin'], includePaths: ['/pets/*'] })
  t.same(plan.created, ['getPet'])
  t.equal(plan.filtered, 2)
  const byMethod = planImport({}, await loadOpenApi(document), { server: 'pets', methods: ['delete'] })
  t.same(byMethod.created, ['deletePet'])
  const byId = planImport({}, await loadOpenApi(document), { server: 'pets', excludeOperations: ['*Pet'] })
  t.same(byId.created, ['get_pets'])
})

t.test('simplification: examples dropped, required and enum kept, sizes reported', async t => {
  const document = {
    openapi: '3.1.0', info: { title: 'S', version: '1' }, servers: [{ url: 'https://s.example' }],
    paths: { '/things': { post: { operationId: 'make', requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } }, responses: { 201: { description: 'ok' } } } } },
    components: { schemas: { Thing: { type: 'object', required: ['kind'], properties: { kind: { type: 'string', enum: ['a', 'b'], example: 'a', description: 'Which' }, node: { $ref: '#/components/schemas/Node' } } }, Node: { type: 'object', properties: { next: { $ref: '#/components/schemas/Node' } }, examples: [{ next: null }] } } }
  }
  const doc: ConfigDocument = {}
  const plan = planImport(doc, await loadOpenApi(document), { server: 's' })
  const input = doc.servers![0]!.tools![0]!.input as Record<string, any>
  t.same(input.required, ['kind'])
  t.same(input.properties.kind, { type: 'string', enum: ['a', 'b'], description: 'Which' })
  t.same(input.properties.node, { type: 'object', properties: { next: { $ref: '#/$defs/Node' } } }, 'a recursive schema: inlined once, the recursion kept exact in $defs')
  t.same(input.$defs.Node, { type: 'object', properties: { next: { $ref: '#/$defs/Node' } } })
  t.ok(plan.toolList.after.bytes < plan.toolList.before.bytes, `${plan.toolList.before.bytes} → ${plan.toolList.after.bytes} bytes`)
})

t.test('servers: a relative URL is resolved against the document\'s URL; none at all needs a base URL', async t => {
  const document = { openapi: '3.0.3', info: { title: 'R', version: '1' }, servers: [{ url: '/api/v2' }], paths: { '/x': { get: { responses: { 200: { description: 'ok' } } } } } }
  const doc: ConfigDocument = {}
  planImport(doc, await loadOpenApi(structuredClone(document), 'https://docs.example.com/specs/openapi.json'), { server: 'r' })
  t.equal(doc.providers![0]!.baseUrl, 'https://docs.example.com/api/v2')
  t.throws(() => planImport({}, { spec: { ...document, servers: [] }, sourceVersion: '3.0.3' }, { server: 'r' }), /names no server URL/)
  t.throws(() => planImport({}, { spec: document, sourceVersion: '3.0.3' }, { server: 'r' }), /"\/api\/v2" is relative/)
})

t.test('request bodies: readOnly properties are not arguments; a body without a schema', async t => {
  const document = {
    openapi: '3.0.3', info: { title: 'B', version: '1' }, servers: [{ url: 'https://b.example' }],
    paths: {
      '/pets': { post: { operationId: 'addPet', requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } } }, responses: { 201: { description: 'ok' } } } },
      '/raw': { post: { operationId: 'raw', requestBody: { required: true, content: { 'application/json': {} } }, responses: { 200: { description: 'ok' } } } },
      '/list': { post: { operationId: 'list', requestBody: { required: true, content: { 'application/json': { schema: { type: 'array', items: { type: 'string' } } } } }, responses: { 200: { description: 'ok' } } } }
    },
    components: { schemas: { Pet: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'integer', readOnly: true }, name: { type: 'string' } } } } }
  }
  const doc: ConfigDocument = {}
  const plan = planImport(doc, await loadOpenApi(document), { server: 'b' })
  const input = doc.servers![0]!.tools![0]!.input as Record<string, any>
  t.same(Object.keys(input.properties), ['name'])
  t.same(input.required, ['name'], 'the readOnly id is neither an argument nor required')
  t.match(plan.skipped, [{ operationId: 'raw', reason: /without a schema/ }, { operationId: 'list', reason: /not an object/ }])
})
