// /oauth: what an end user's browser visits to connect a provider (consent page, start, callback),
// and the end user's own connections, authenticated with their Toolgate API key.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { bearerToken } from '../../auth/tokens.ts'
import { notFound, unauthorized } from '../../errors.ts'
import { revokeConnection } from '../../oauth/connections.ts'
import { CALLBACK_PATH, type FlowError } from '../../oauth/flow.ts'
import { consentPage, donePage, errorPage, PAGE_HEADERS } from '../../oauth/pages.ts'
import type { GatewayDeps } from '../deps.ts'

function sendPage (reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.status(status).headers(PAGE_HEADERS).send(html)
}

function sendError (reply: FastifyReply, failed: FlowError): FastifyReply {
  return sendPage(reply, failed.error.status, errorPage(failed.error.title, failed.error.message))
}

function queryParam (query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name]
  return typeof value === 'string' ? value : undefined
}

export function oauthRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  const { flow } = deps.oauth
  const secure = deps.settings.publicUrl.startsWith('https:')

  app.get('/oauth/consent', async (request, reply) => {
    const token = queryParam(request.query, 'request')
    const described = await flow.describe(token)
    if ('error' in described) return sendError(reply, described)
    return sendPage(reply, 200, consentPage({
      provider: described.provider.name,
      ...(described.provider.description ? { description: described.provider.description } : {}),
      scopes: described.request.scopes,
      endUser: described.endUser,
      continueUrl: `${deps.settings.publicUrl}/oauth/start?request=${encodeURIComponent(token!)}`
    }))
  })

  app.get('/oauth/start', async (request, reply) => {
    const started = await flow.start(queryParam(request.query, 'request'))
    if ('error' in started) return sendError(reply, started)
    const { name, value, maxAgeSeconds } = started.cookie
    return reply.status(302)
      .header('set-cookie', `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=${CALLBACK_PATH}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('location', started.location)
      .send()
  })

  app.get(CALLBACK_PATH, async (request, reply) => {
    const url = new URL(request.url, deps.settings.publicUrl)
    const done = await flow.callback(url, request.headers.cookie)
    if ('error' in done) return sendError(reply, done)
    return sendPage(reply, 200, donePage(done.provider))
  })

  /** The calling end user, from their Toolgate API key (as on /mcp). */
  async function endUserOf (authorization: string | undefined): Promise<string> {
    const token = bearerToken(authorization)
    if (!token) throw unauthorized('Missing API key: send Authorization: Bearer <key>')
    const check = await deps.apiKeys.verify(token)
    if (!check.ok || check.principal.workspaceId !== deps.workspaceId) throw unauthorized(check.ok ? 'API key not valid here' : `API key ${check.reason}`)
    return check.principal.endUserId
  }

  app.get('/oauth/connections', async request => {
    const endUserId = await endUserOf(request.headers.authorization)
    return { connections: (await deps.oauth.vault.list(endUserId)).map(({ endUserId: _, ...connection }) => connection) }
  })

  app.delete('/oauth/connections/:provider', async request => {
    const endUserId = await endUserOf(request.headers.authorization)
    const provider = (request.params as { provider: string }).provider
    const user = await deps.db.selectFrom('end_users').select('external_id').where('id', '=', endUserId).executeTakeFirstOrThrow()
    const outcome = await revokeConnection({ ...deps.oauth, workspaceId: deps.workspaceId, logger: deps.logger }, endUserId, provider, `end_user:${user.external_id}`)
    if (!outcome.revoked) throw notFound(`connection to "${provider}"`)
    return { provider, ...outcome }
  })
}
