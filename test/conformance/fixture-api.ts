// The conformance fixture as a plain HTTP API, served through Toolgate as an `api` server: the
// scenarios whose tools an HTTP endpoint can express (text, image, audio, a failing call) run
// against Toolgate's own HTTP-to-MCP path too, not only against the remote-mcp relay.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FIXTURE_AUDIO_BASE64, FIXTURE_IMAGE_BASE64, SIMPLE_TEXT } from './fixture-content.ts'

export interface FixtureApi {
  url: string
  close (): Promise<void>
}

/** Routes: GET /text, GET /image, GET /audio, GET /error (500). */
export async function startFixtureApi (): Promise<FixtureApi> {
  const image = Buffer.from(FIXTURE_IMAGE_BASE64, 'base64')
  const audio = Buffer.from(FIXTURE_AUDIO_BASE64, 'base64')
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fixture').pathname
    req.resume()
    if (path === '/text') return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(SIMPLE_TEXT)
    if (path === '/image') return void res.writeHead(200, { 'content-type': 'image/png' }).end(image)
    if (path === '/audio') return void res.writeHead(200, { 'content-type': 'audio/wav' }).end(audio)
    if (path === '/error') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('This tool intentionally returns an error for testing')
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

/** The tools of the `api` server made from this API (a Toolgate config document fragment). */
export function fixtureApiTools (provider: string): Array<Record<string, unknown>> {
  const noArgs = { type: 'object', properties: {} }
  return [
    { name: 'test_simple_text', description: 'Tests simple text content response', provider, method: 'GET', path: '/text', input: noArgs },
    { name: 'test_image_content', description: 'Tests image content response', provider, method: 'GET', path: '/image', input: noArgs },
    { name: 'test_audio_content', description: 'Tests audio content response', provider, method: 'GET', path: '/audio', input: noArgs },
    { name: 'test_error_handling', description: 'Tests error response handling', provider, method: 'GET', path: '/error', input: noArgs }
  ]
}
