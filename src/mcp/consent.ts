// Asking the client to send its user to a consent page, in the form each protocol era knows:
// - 2025-11-25 with URL elicitation declared: JSON-RPC error -32042 (URLElicitationRequiredError)
//   listing one URL elicitation;
// - 2026-07-28 with URL elicitation declared: an `input_required` result carrying it, with a sealed
//   `requestState` that the retry must bring back intact;
// - anyone else: an isError tool result whose text gives the link.
import type { ConsentLinks } from '../oauth/consent-link.ts'
import type { ConsentRequired } from '../oauth/errors.ts'
import { errorResult } from '../tools/result.ts'
import { INVALID_PARAMS, RpcError } from './jsonrpc.ts'
import { isModernVersion, type ProtocolVersion } from './versions.ts'

export const URL_ELICITATION_REQUIRED = -32042

export interface ConsentSignalContext {
  links: ConsentLinks
  workspaceId: string
  endUserId: string
  server: string
  tool: string
  version: ProtocolVersion
  /** The client declared `elicitation.url` (at initialize, or in the request's envelope). */
  urlElicitation: boolean
  /** The legacy session's random id, told when consent completes. */
  sessionId?: string
}

/** Whether client capabilities include URL-mode elicitation (`elicitation: { url: {} }`). */
export function declaresUrlElicitation (capabilities: unknown): boolean {
  const elicitation = (capabilities as { elicitation?: unknown } | undefined)?.elicitation
  return elicitation !== null && typeof elicitation === 'object' && (elicitation as { url?: unknown }).url !== undefined
}

/** The answer to a tools/call that needs consent first (a result), or the -32042 error (thrown). */
export function consentAnswer (required: ConsentRequired, ctx: ConsentSignalContext): Record<string, unknown> {
  const { url, request } = ctx.links.create({
    workspaceId: ctx.workspaceId,
    endUserId: ctx.endUserId,
    provider: required.provider.name,
    server: ctx.server,
    scopes: required.scopes,
    ...(ctx.sessionId ? { sessionId: ctx.sessionId } : {})
  })
  const what = required.provider.description ?? required.provider.name
  const scopes = required.scopes.length > 0 ? ` (${required.scopes.join(', ')})` : ''
  const message = `${required.message}. Authorize ${what}${scopes} to let ${ctx.tool} act on your behalf.`
  if (ctx.urlElicitation && isModernVersion(ctx.version)) {
    return {
      resultType: 'input_required',
      inputRequests: {
        [`authorize_${required.provider.name}`]: { method: 'elicitation/create', params: { mode: 'url', message, url } }
      },
      requestState: ctx.links.sealState({ elicitationId: request.elicitationId, server: ctx.server, tool: ctx.tool, endUserId: ctx.endUserId, expiresAt: request.expiresAt })
    }
  }
  // URL-mode elicitation (and -32042) exists from 2025-11-25 on.
  if (ctx.urlElicitation && ctx.version === '2025-11-25') {
    throw new RpcError(URL_ELICITATION_REQUIRED, message, {
      elicitations: [{ mode: 'url', elicitationId: request.elicitationId, url, message }]
    })
  }
  return errorResult(`${message} Open this link to connect your account, then call ${ctx.tool} again: ${url}`) as unknown as Record<string, unknown>
}

/**
 * A 2026-07-28 retry brings back the requestState we sealed: it must open, be unexpired and
 * belong to this end user, server and tool. Anything else is refused, not ignored.
 */
export function checkRequestState (links: ConsentLinks, state: unknown, expected: { endUserId: string, server: string, tool: string }): void {
  if (state === undefined) return
  const opened = typeof state === 'string' ? links.openState(state) : undefined
  if (!opened || opened.endUserId !== expected.endUserId || opened.server !== expected.server || opened.tool !== expected.tool) {
    throw new RpcError(INVALID_PARAMS, 'Invalid params: requestState failed verification (altered, expired, or issued for another request); call the tool again without it')
  }
}
