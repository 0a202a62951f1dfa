// A tiny pet store HTTP API for the README walkthrough, so the whole tour runs offline.
//
//   node_modules/.bin/node examples/mock-api.ts          # listens on http://127.0.0.1:4010
//   MOCK_API_PORT=4020 node_modules/.bin/node examples/mock-api.ts
//
// Every route needs `Authorization: Bearer petstore-demo-token` (examples/petstore.yaml sends it
// from a SECRET variable). Routes, all under /v1:
//   GET  /v1/pets?species=&limit=   → 200 [pet, …]
//   GET  /v1/pets/{id}              → 200 pet | 404 {error}
//   POST /v1/pets  {name, species, tags?}  (+ optional X-Request-Id header, echoed back)
//                                   → 201 pet
//   GET  /v1/pets/{id}/photo        → 200 image/png (a 1×1 pixel)
// The data lives in memory and resets when the process stops.
import { createServer, type Server } from 'node:http'

export const DEMO_TOKEN = 'petstore-demo-token'
export const DEFAULT_PORT = 4010

interface Pet {
  id: number
  name: string
  species: 'cat' | 'dog' | 'bird'
  tags: string[]
}

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')
const SPECIES = new Set(['cat', 'dog', 'bird'])

export interface MockApi {
  url: string
  server: Server
  close (): Promise<void>
}

export async function startMockApi (port = DEFAULT_PORT, host = '127.0.0.1'): Promise<MockApi> {
  const pets: Pet[] = [
    { id: 1, name: 'Tom', species: 'cat', tags: ['indoor'] },
    { id: 2, name: 'Rex', species: 'dog', tags: ['good boy'] },
    { id: 3, name: 'Tweety', species: 'bird', tags: [] }
  ]
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => {
      const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        const text = JSON.stringify(value)
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
        res.end(text)
      }
      if (req.headers.authorization !== `Bearer ${DEMO_TOKEN}`) return send(401, { error: 'missing or wrong bearer token' })
      const url = new URL(req.url ?? '/', 'http://mock')
      const path = url.pathname

      if (path === '/v1/pets' && req.method === 'GET') {
        const species = url.searchParams.get('species')
        const limit = Number(url.searchParams.get('limit') ?? 50)
        return send(200, pets.filter(p => !species || p.species === species).slice(0, limit))
      }
      if (path === '/v1/pets' && req.method === 'POST') {
        let body: Partial<Pet>
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<Pet>
        } catch {
          return send(400, { error: 'body must be JSON' })
        }
        if (typeof body.name !== 'string' || !SPECIES.has(body.species as string)) return send(400, { error: 'name and species (cat, dog, bird) are required' })
        const pet: Pet = { id: pets.length + 1, name: body.name, species: body.species!, tags: Array.isArray(body.tags) ? body.tags.map(String) : [] }
        pets.push(pet)
        const requestId = req.headers['x-request-id']
        return send(201, pet, typeof requestId === 'string' ? { 'x-request-id': requestId } : {})
      }
      const one = /^\/v1\/pets\/([^/]+)(\/photo)?$/.exec(path)
      if (one && req.method === 'GET') {
        const pet = pets.find(p => String(p.id) === decodeURIComponent(one[1]!))
        if (!pet) return send(404, { error: `no pet with id ${decodeURIComponent(one[1]!)}` })
        if (one[2]) {
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length })
          return res.end(PNG)
        }
        return send(200, pet)
      }
      send(404, { error: `no route ${req.method} ${path}` })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const address = server.address() as { port: number }
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

if (import.meta.main) {
  const api = await startMockApi(Number(process.env.MOCK_API_PORT ?? DEFAULT_PORT))
  process.stdout.write(`Mock pet store API on ${api.url}/v1 (token: ${DEMO_TOKEN}); Ctrl-C stops it\n`)
  const stop = () => { api.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
