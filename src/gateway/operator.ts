// Which operator account an admin request acts for. The admin token has no account (null); an
// operator login, once it exists, sets `request.operatorAccountId` after authenticating.
import type { FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    operatorAccountId?: string | null
  }
}

export function operatorAccountId (request: FastifyRequest): string | null {
  return request.operatorAccountId ?? null
}
