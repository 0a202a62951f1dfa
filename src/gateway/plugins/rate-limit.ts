// Per-IP rate limits with separate budgets per route group. Counters are keyed by an HMAC of the
// address (the key derives from the key ring), so the counter store never holds a raw IP and
// nothing links it to an account (DESIGN promise 4).
import rateLimit from '@fastify/rate-limit'
import { createHmac, createSecretKey } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { RateBudget } from '../../config/settings.ts'
import { ToolgateError } from '../../errors.ts'

export function addressHasher (key: Buffer): (ip: string) => string {
  const secret = createSecretKey(key)
  return ip => createHmac('sha256', secret).update(ip).digest('base64url')
}

export async function registerRateLimit (app: FastifyInstance, budget: RateBudget, group: string, hashAddress: (ip: string) => string, onReject?: (group: string) => void): Promise<void> {
  await app.register(rateLimit, {
    // Not global: the plugin would then hook each route, and route hooks run after instance hooks,
    // so authentication would answer (and so never count) requests with a bad key or token.
    // Instead the limit is the first onRequest hook of the context, before anything else runs.
    global: false,
    max: budget.max,
    timeWindow: budget.timeWindowMs,
    keyGenerator: (request: FastifyRequest) => `${group}:${hashAddress(request.ip)}`,
    errorResponseBuilder: (_request, context) => {
      // The builder runs once per rejected request (429): where rejections are counted.
      onReject?.(group)
      return new ToolgateError('TG_ERR_RATE_LIMITED', 429, `Rate limit exceeded: ${context.max} requests per ${Math.round(budget.timeWindowMs / 1000)} s; retry in ${context.after}`)
    }
  })
  app.addHook('onRequest', app.rateLimit())
}
