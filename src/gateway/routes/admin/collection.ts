// REST over a named list inside the config document (servers, providers, variables, a server's
// tools): list / get / create / replace / delete, each applied as a whole-document edit.
import type { FastifyInstance } from 'fastify'
import type { ConfigDocument } from '../../../config/document.ts'
import { editDocument } from '../../../config/edit.ts'
import { readDocument } from '../../../config/store.ts'
import { conflict, notFound } from '../../../errors.ts'
import type { GatewayDeps } from '../../deps.ts'

export interface Named { name: string }

export interface CollectionSpec<T extends Named> {
  /** Route prefix, with parent params, e.g. `/servers/:server/tools`. */
  path: string
  /** Singular, for messages: "server", "tool". */
  noun: string
  /** JSON Schema of one item (request bodies). */
  schema: object
  /** The list inside the document; `create` makes a missing parent list exist (or throws 404). */
  items: (doc: ConfigDocument, params: Record<string, string>, create: boolean) => T[]
  /** What GET returns for an item (e.g. with secret values left out). */
  view?: (item: T) => unknown
  /** Loaded once per GET: adds state that is not config (e.g. a server's connection status) to the view. */
  state?: () => Promise<(item: T, view: unknown) => unknown>
  /** Fields `state` adds: accepted in request bodies (a GET can be PUT back) and dropped. */
  stateFields?: string[]
}

export function registerCollection<T extends Named> (app: FastifyInstance, deps: GatewayDeps, spec: CollectionSpec<T>): void {
  const view = spec.view ?? ((item: T) => item)
  const stateFields = spec.stateFields ?? []
  const schema = stateFields.length === 0
    ? spec.schema
    : { ...spec.schema, properties: { ...(spec.schema as { properties: object }).properties, ...Object.fromEntries(stateFields.map(field => [field, {}])) } }
  const itemOf = (body: unknown): T => {
    const item = { ...body as T }
    for (const field of stateFields) delete (item as Record<string, unknown>)[field]
    return item
  }
  // The audit row names the REST operation and the item (`tool.update`, `shop/get_user`).
  const audit = (verb: string, params: Record<string, string>, name: string) =>
    ({ action: `${spec.noun}.${verb}`, target: params.server !== undefined ? `${params.server}/${name}` : name })
  const edit = async <R>(change: (doc: ConfigDocument) => R, action: { action: string, target: string }) => {
    const outcome = await editDocument(deps.db, deps.keyRing, deps.workspaceId, { actor: 'admin', defaults: deps.compileDefaults, audit: action }, change)
    await deps.registry.refresh()
    return outcome
  }
  const find = (list: T[], name: string): number => {
    const index = list.findIndex(item => item.name === name)
    if (index < 0) throw notFound(`${spec.noun} "${name}"`)
    return index
  }
  const current = async () => (await readDocument(deps.db, deps.workspaceId)).document
  type Params = Record<string, string>

  const withState = async () => {
    if (!spec.state) return view
    const add = await spec.state()
    return (item: T) => add(item, view(item))
  }

  app.get(spec.path, async request => {
    const [document, show] = await Promise.all([current(), withState()])
    return spec.items(document, request.params as Params, false).map(show)
  })

  app.get(`${spec.path}/:name`, async request => {
    const params = request.params as Params
    const [document, show] = await Promise.all([current(), withState()])
    const list = spec.items(document, params, false)
    return show(list[find(list, params.name!)]!)
  })

  app.post(spec.path, { schema: { body: schema } }, async (request, reply) => {
    const item = itemOf(request.body)
    const { version } = await edit(doc => {
      const list = spec.items(doc, request.params as Params, true)
      if (list.some(existing => existing.name === item.name)) throw conflict(`${spec.noun} "${item.name}"`)
      list.push(item)
    }, audit('create', request.params as Params, item.name))
    // From the URL as requested: spec.path still holds the parent's `:server` placeholder.
    const location = `${request.url.split('?')[0]!.replace(/\/+$/, '')}/${encodeURIComponent(item.name)}`
    return await reply.status(201).header('location', location).send({ configVersion: version, [spec.noun]: view(item) })
  })

  app.put(`${spec.path}/:name`, { schema: { body: schema } }, async request => {
    const params = request.params as Params
    const item = itemOf(request.body)
    const { version } = await edit(doc => {
      const list = spec.items(doc, params, false)
      const index = find(list, params.name!)
      if (item.name !== params.name && list.some(existing => existing.name === item.name)) throw conflict(`${spec.noun} "${item.name}"`)
      list[index] = item
    }, audit('update', params, params.name!))
    return { configVersion: version, [spec.noun]: view(item) }
  })

  app.delete(`${spec.path}/:name`, async (request, reply) => {
    const params = request.params as Params
    await edit(doc => {
      const list = spec.items(doc, params, false)
      list.splice(find(list, params.name!), 1)
    }, audit('delete', params, params.name!))
    return await reply.status(204).send()
  })
}
