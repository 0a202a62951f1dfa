// /api/v1/interceptors: the dry-run tester (run code on a sample, nothing stored, no upstream) and
// what response interceptors saved per tool (sizes only, since this process started).
import type { FastifyInstance } from 'fastify'
import { interceptorSchema } from '../../../config/document.ts'
import { INTERCEPTOR_ENGINES, INTERCEPTOR_PHASES, testInterceptor, type InterceptorTestRequest } from '../../../interceptors/index.ts'
import type { GatewayDeps } from '../../deps.ts'

const limits = interceptorSchema.properties

const testSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['engine', 'code', 'phase', 'input'],
  properties: {
    name: limits.name,
    engine: { enum: INTERCEPTOR_ENGINES },
    phase: { enum: INTERCEPTOR_PHASES },
    code: { type: 'string', minLength: 1, maxLength: limits.js.maxLength },
    input: {}, // any JSON value: the sample request arguments or upstream body
    ctx: {
      type: 'object',
      additionalProperties: false,
      properties: {
        server: { type: 'string', maxLength: 128 },
        tool: { type: 'string', maxLength: 128 },
        arguments: { type: 'object' },
        status: { type: 'integer', minimum: 100, maximum: 599 },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        endUserId: { type: ['string', 'null'], maxLength: 200 }
      }
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: { timeoutMs: limits.timeoutMs, memoryMb: limits.memoryMb, maxOutputBytes: limits.maxOutputBytes }
    }
  }
} as const

export function interceptorRoutes (app: FastifyInstance, deps: GatewayDeps): void {
  app.post('/interceptors/test', { schema: { body: testSchema } }, async request => {
    return await testInterceptor(deps.interceptors, request.body as InterceptorTestRequest)
  })

  app.get('/interceptors/savings', { schema: { querystring: { type: 'object', properties: { server: { type: 'string' } } } } }, async request => {
    const { server } = request.query as { server?: string }
    return { tools: deps.savings.snapshot(server) }
  })
}
