// Options of `toolgate import openapi` (kept apart so the command's module loads only when used).
export const IMPORT_OPTIONS = {
  server: { type: 'string' },
  provider: { type: 'string' },
  'base-url': { type: 'string' },
  'include-tag': { type: 'string', multiple: true },
  'exclude-tag': { type: 'string', multiple: true },
  'include-path': { type: 'string', multiple: true },
  'exclude-path': { type: 'string', multiple: true },
  method: { type: 'string', multiple: true },
  'include-operation': { type: 'string', multiple: true },
  'exclude-operation': { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  'no-simplify': { type: 'boolean' },
  'no-output-schemas': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  prune: { type: 'boolean' }
} as const
