// The declarative config document: what `toolgate apply -f` takes, `PUT /api/v1/config` accepts and
// export returns. The REST resources edit the same model. Types first, then the JSON Schema that
// checks its shape (semantic checks live in validate.ts).

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const
export type HttpMethod = typeof HTTP_METHODS[number]
export const PARAMETER_LOCATIONS = ['path', 'query', 'header', 'body'] as const
export type ParameterLocation = typeof PARAMETER_LOCATIONS[number]

export interface VariableDoc {
  name: string
  kind: 'ENV' | 'SECRET'
  description?: string
  /** Required for ENV and for a new SECRET; omitted on a SECRET it keeps the stored value. Never exported for SECRET. */
  value?: string
}

export const OAUTH_CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const
export type OAuthClientAuthMethod = typeof OAUTH_CLIENT_AUTH_METHODS[number]

/** Where an end user's access token goes on the upstream request. */
export interface OAuthInjectionDoc {
  /** A header name (default `Authorization`). */
  header?: string
  /** Text before the token in that header (default `Bearer` for Authorization, none otherwise). */
  scheme?: string
  /** A query parameter instead of a header. */
  query?: string
}

/**
 * A provider's OAuth 2 settings: each end user authorizes once (consent in band) and their calls
 * carry their own token. Endpoints by hand, or an `issuer` whose discovery document gives them.
 */
export interface ProviderOAuthDoc {
  issuer?: string
  authorizationUrl?: string
  tokenUrl?: string
  revocationUrl?: string
  /** May hold `${NAME}`. */
  clientId: string
  /**
   * Write-only: a literal (sealed with the key ring, never exported; omitted on re-apply it keeps
   * the stored one) or a `${NAME}` reference to a SECRET variable (stored as the reference).
   */
  clientSecret?: string
  /** Asked for at consent, together with the scopes of the tools that use the provider. */
  scopes?: string[]
  clientAuthMethod?: OAuthClientAuthMethod
  /** PKCE with S256 (default true). */
  pkce?: boolean
  /** Extra authorization request parameters, e.g. `access_type: offline`, `prompt: consent`. */
  authorizationParams?: Record<string, string>
  inject?: OAuthInjectionDoc
  /** Refresh this long before the access token expires (default 60). */
  refreshSkewSeconds?: number
}

export interface ProviderDoc {
  name: string
  description?: string
  baseUrl: string
  headers?: Record<string, string>
  timeoutMs?: number
  maxResponseBytes?: number
  oauth?: ProviderOAuthDoc
}

export interface ParameterDoc {
  in?: ParameterLocation
  /** The name upstream, when it differs from the argument's (e.g. a header `X-Request-Id`). */
  name?: string
}

/**
 * One interceptor: exactly one of `jmespath` (an expression) or `js` (source evaluating to a
 * function `(input, ctx) => output`), with optional limits (JS only; defaults in interceptors/types.ts).
 */
export interface InterceptorDoc {
  name?: string
  jmespath?: string
  js?: string
  timeoutMs?: number
  memoryMb?: number
  maxOutputBytes?: number
}

/** Where interceptors attach: a tool, or a server as the default for its tools (per phase). */
export interface InterceptorChainsDoc {
  /** Rewrite the validated arguments before they are mapped to the upstream request. */
  request?: InterceptorDoc[]
  /** Reshape the parsed upstream body into what the tool returns. */
  response?: InterceptorDoc[]
}

export interface ToolDoc extends InterceptorChainsDoc {
  name: string
  title?: string
  description?: string
  provider: string
  method: HttpMethod
  path: string
  input?: Record<string, unknown>
  output?: Record<string, unknown>
  parameters?: Record<string, ParameterDoc>
  headers?: Record<string, string>
  timeoutMs?: number
  maxResponseBytes?: number
  scopes?: string[]
  annotations?: Record<string, unknown>
}

export const SERVER_KINDS = ['api', 'remote-mcp', 'stdio'] as const
export type ServerKind = typeof SERVER_KINDS[number]
export const MCP_TRANSPORTS = ['streamable-http', 'sse', 'auto'] as const
export type McpTransportChoice = typeof MCP_TRANSPORTS[number]

/**
 * A server. `api` (the default) has its tools declared here; `remote-mcp` and `stdio` get their
 * tools, resources and prompts from another MCP server, filtered by include/exclude/rename.
 */
export interface ServerDoc extends InterceptorChainsDoc {
  name: string
  kind?: ServerKind
  title?: string
  description?: string
  instructions?: string
  /** api only. */
  tools?: ToolDoc[]
  /** remote-mcp: the upstream MCP endpoint (may hold `${NAME}`). */
  url?: string
  /** remote-mcp: `auto` (default) tries Streamable HTTP, then legacy HTTP+SSE. */
  transport?: McpTransportChoice
  /** remote-mcp: sent with every upstream request (values may hold `${NAME}`). */
  headers?: Record<string, string>
  /** remote-mcp and stdio: per-request timeout upstream. */
  timeoutMs?: number
  /** remote-mcp: largest upstream HTTP response body; stdio: largest message on stdout. */
  maxResponseBytes?: number
  /** stdio: the program to run, its arguments (literal), its environment (values may hold `${NAME}`) and working directory. */
  command?: string
  args?: string[]
  env?: Record<string, string>
  cwd?: string
  /** remote-mcp and stdio: upstream tool/prompt names (`*` matches any run of characters) to keep / to drop. */
  include?: string[]
  exclude?: string[]
  /** remote-mcp and stdio: upstream tool name → the name clients see. */
  rename?: Record<string, string>
  /** api only: tools/list shows search_tools, describe_tool and call_tool instead of every tool. */
  discovery?: boolean
}

/** Fields that belong to MCP upstream kinds only (remote-mcp, stdio), and to one kind each. */
export const REMOTE_MCP_FIELDS = ['url', 'transport', 'headers'] as const
export const STDIO_FIELDS = ['command', 'args', 'env', 'cwd'] as const
export const UPSTREAM_COMMON_FIELDS = ['timeoutMs', 'maxResponseBytes', 'include', 'exclude', 'rename'] as const

export interface ConfigDocument {
  variables?: VariableDoc[]
  providers?: ProviderDoc[]
  servers?: ServerDoc[]
}

export const VARIABLE_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,127}$'
export const RESOURCE_NAME = '^[a-z0-9][a-z0-9_-]{0,62}$'
// MCP 2025-11-25: tool names are 1–128 characters of A–Z a–z 0–9 _ - .
export const TOOL_NAME = '^[A-Za-z0-9_.-]{1,128}$'
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

const headerMap = {
  type: 'object',
  propertyNames: { pattern: HEADER_NAME },
  additionalProperties: { type: 'string', pattern: '^[^\\r\\n\\u0000]*$' }
} as const

const limits = {
  timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
  maxResponseBytes: { type: 'integer', minimum: 1, maximum: 1_073_741_824 }
} as const

export const INTERCEPTOR_LIMIT_FIELDS = ['timeoutMs', 'memoryMb', 'maxOutputBytes'] as const

export const interceptorSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    jmespath: { type: 'string', minLength: 1, maxLength: 65_536 },
    js: { type: 'string', minLength: 1, maxLength: 1_048_576 },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 30_000 },
    memoryMb: { type: 'integer', minimum: 8, maximum: 1024 },
    maxOutputBytes: { type: 'integer', minimum: 1, maximum: 1_073_741_824 }
  }
} as const

const interceptorChain = { type: 'array', maxItems: 32, items: interceptorSchema } as const

export const variableSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind'],
  properties: {
    name: { type: 'string', pattern: VARIABLE_NAME },
    kind: { enum: ['ENV', 'SECRET'] },
    description: { type: 'string', maxLength: 2000 },
    value: { type: 'string', maxLength: 65536 }
  }
} as const

const oauthUrl = { type: 'string', minLength: 1, maxLength: 2048 } as const
/** OAuth scope tokens (RFC 6749 §3.3): no spaces, quotes or backslashes. */
const OAUTH_SCOPE = '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$'

export const providerOAuthSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['clientId'],
  properties: {
    issuer: oauthUrl,
    authorizationUrl: oauthUrl,
    tokenUrl: oauthUrl,
    revocationUrl: oauthUrl,
    clientId: { type: 'string', minLength: 1, maxLength: 1024 },
    clientSecret: { type: 'string', minLength: 1, maxLength: 4096 },
    scopes: { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: OAUTH_SCOPE, maxLength: 512 } },
    clientAuthMethod: { enum: OAUTH_CLIENT_AUTH_METHODS },
    pkce: { type: 'boolean' },
    authorizationParams: {
      type: 'object',
      maxProperties: 32,
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      additionalProperties: { type: 'string', maxLength: 2048 }
    },
    inject: {
      type: 'object',
      additionalProperties: false,
      properties: {
        header: { type: 'string', pattern: HEADER_NAME },
        scheme: { type: 'string', pattern: '^[A-Za-z0-9._~+/-]{1,64}$' },
        query: { type: 'string', pattern: '^[A-Za-z0-9_.~-]{1,128}$' }
      }
    },
    refreshSkewSeconds: { type: 'integer', minimum: 0, maximum: 86_400 }
  }
} as const

export const providerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'baseUrl'],
  properties: {
    name: { type: 'string', pattern: RESOURCE_NAME },
    description: { type: 'string', maxLength: 2000 },
    baseUrl: { type: 'string', minLength: 1, maxLength: 2048 },
    headers: headerMap,
    ...limits,
    oauth: providerOAuthSchema
  }
} as const

export const toolSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'provider', 'method', 'path'],
  properties: {
    name: { type: 'string', pattern: TOOL_NAME },
    title: { type: 'string', maxLength: 200 },
    description: { type: 'string', maxLength: 10_000 },
    provider: { type: 'string', pattern: RESOURCE_NAME },
    method: { enum: HTTP_METHODS },
    path: { type: 'string', pattern: '^/', maxLength: 2048 },
    input: { type: 'object' },
    output: { type: 'object' },
    parameters: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          in: { enum: PARAMETER_LOCATIONS },
          name: { type: 'string', minLength: 1, maxLength: 256 }
        }
      }
    },
    headers: headerMap,
    ...limits,
    request: interceptorChain,
    response: interceptorChain,
    scopes: { type: 'array', items: { type: 'string', pattern: OAUTH_SCOPE, maxLength: 512 }, uniqueItems: true },
    annotations: {
      type: 'object',
      properties: {
        title: { type: 'string' },
        readOnlyHint: { type: 'boolean' },
        destructiveHint: { type: 'boolean' },
        idempotentHint: { type: 'boolean' },
        openWorldHint: { type: 'boolean' }
      }
    }
  }
} as const

/** An include/exclude pattern: a tool or prompt name where `*` stands for any run of characters. */
const NAME_PATTERN = '^[A-Za-z0-9_.*/-]{1,128}$'
const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,255}$'

// One shape for every kind; which fields a kind takes is checked in validate.ts, so a misplaced
// field is reported on its own path ("servers[1].tools: …") rather than as a failed oneOf.
export const serverSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: RESOURCE_NAME },
    kind: { enum: SERVER_KINDS },
    title: { type: 'string', maxLength: 200 },
    description: { type: 'string', maxLength: 10_000 },
    instructions: { type: 'string', maxLength: 20_000 },
    tools: { type: 'array', items: toolSchema },
    request: interceptorChain,
    response: interceptorChain,
    url: { type: 'string', minLength: 1, maxLength: 2048 },
    transport: { enum: MCP_TRANSPORTS },
    headers: headerMap,
    timeoutMs: limits.timeoutMs,
    maxResponseBytes: limits.maxResponseBytes,
    command: { type: 'string', minLength: 1, maxLength: 4096 },
    args: { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 32_768 } },
    env: {
      type: 'object',
      propertyNames: { pattern: ENV_NAME },
      additionalProperties: { type: 'string', maxLength: 65_536, pattern: '^[^\\u0000]*$' }
    },
    cwd: { type: 'string', minLength: 1, maxLength: 4096 },
    include: { type: 'array', items: { type: 'string', pattern: NAME_PATTERN }, uniqueItems: true },
    exclude: { type: 'array', items: { type: 'string', pattern: NAME_PATTERN }, uniqueItems: true },
    rename: {
      type: 'object',
      propertyNames: { minLength: 1, maxLength: 128 },
      additionalProperties: { type: 'string', pattern: TOOL_NAME }
    },
    discovery: { type: 'boolean' }
  }
} as const

export const documentSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    variables: { type: 'array', items: variableSchema },
    providers: { type: 'array', items: providerSchema },
    servers: { type: 'array', items: serverSchema }
  }
} as const
