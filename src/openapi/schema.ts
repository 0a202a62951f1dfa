// OpenAPI 3.1 schema objects (JSON Schema with `$ref`s into the document) → self-contained JSON
// Schemas for tools. Each `$ref` is either inlined (small, not recursive) or kept once in the tool
// schema's own `$defs`, so recursion stays exact and nothing is dropped. Simplification removes
// noise only: examples, XML hints, external docs; enum, format, required and description stay.
import { resolvePointer, type OpenApiObject } from './load.ts'

export interface SchemaOptions {
  /** Inline `$ref`s whose target is at most this many bytes of JSON (0: keep every `$ref` in `$defs`). */
  inlineMaxBytes: number
  /** Drop `example`, `examples`, `xml`, `externalDocs`, `deprecated`, vendor extensions. */
  dropNoise: boolean
  /** Cut descriptions inside schemas to this many characters (0: keep whole). */
  maxDescriptionChars: number
}

type Json = Record<string, unknown>

const NOISE = new Set(['example', 'examples', 'xml', 'externalDocs', 'deprecated'])
/** OpenAPI-only keywords no JSON Schema validator uses (kept out of every tool schema). */
const OPENAPI_ONLY = new Set(['discriminator', '$schema', '$id', 'id'])
/** Formats the gateway's Ajv (with ajv-formats) validates. */
const KNOWN_FORMATS = new Set(['date', 'time', 'date-time', 'iso-time', 'iso-date-time', 'duration', 'uri', 'uri-reference', 'uri-template',
  'url', 'email', 'hostname', 'ipv4', 'ipv6', 'regex', 'uuid', 'json-pointer', 'json-pointer-uri-fragment', 'relative-json-pointer',
  'byte', 'int32', 'int64', 'float', 'double', 'password', 'binary'])
/** Keywords whose value is a map of schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'])
/** Keywords whose value is a schema. */
const SCHEMA_VALUES = new Set(['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else', 'unevaluatedProperties', 'unevaluatedItems', 'additionalItems'])
/** Keywords whose value is a list of schemas. */
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems'])

export function shorten (text: string, max: number): string {
  if (max <= 0 || text.length <= max) return text
  const cut = text.slice(0, max - 1)
  const sentence = cut.lastIndexOf('. ')
  if (sentence > max * 0.5) return cut.slice(0, sentence + 1)
  const space = cut.lastIndexOf(' ')
  return (space > max * 0.5 ? cut.slice(0, space) : cut) + '…'
}

/** One converter per document: raw target sizes are measured once. */
export class SchemaConverter {
  readonly #doc: OpenApiObject
  readonly #options: SchemaOptions
  readonly #sizes = new Map<string, number>()

  constructor (doc: OpenApiObject, options: SchemaOptions) {
    this.#doc = doc
    this.#options = options
  }

  /** Follows `$ref`s at the top of a node (for reading a body's or a response's shape). */
  deref (node: unknown, depth = 0): Json | undefined {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined
    const ref = (node as Json).$ref
    if (typeof ref === 'string' && depth < 32) return this.deref(resolvePointer(this.#doc, ref), depth + 1)
    return node as Json
  }

  /**
   * A new tool schema context: one `$defs` for everything placed under that root. `maxLevel` cuts
   * nesting (properties of properties, items of items) below that level to its bare type.
   */
  context (maxLevel = Infinity): SchemaContext {
    return new SchemaContext(this, maxLevel)
  }

  size (ref: string): number {
    let size = this.#sizes.get(ref)
    if (size === undefined) {
      size = JSON.stringify(resolvePointer(this.#doc, ref) ?? null).length
      this.#sizes.set(ref, size)
    }
    return size
  }

  target (ref: string): unknown {
    return resolvePointer(this.#doc, ref)
  }

  get options (): SchemaOptions {
    return this.#options
  }
}

function defName (ref: string): string {
  const last = ref.split('/').pop() ?? 'ref'
  return (decodeURIComponent(last).replace(/~1/g, '/').replace(/~0/g, '~').replace(/[^A-Za-z0-9_.-]+/g, '_') || 'ref').slice(0, 100)
}

export class SchemaContext {
  readonly #converter: SchemaConverter
  /** ref → key in $defs */
  readonly #placed = new Map<string, string>()
  readonly #defs: Record<string, unknown> = {}
  readonly #inlining = new Set<string>()
  readonly #maxLevel: number
  #level = 0

  constructor (converter: SchemaConverter, maxLevel: number) {
    this.#converter = converter
    this.#maxLevel = maxLevel
  }

  /** A schema below the level cut: its type (and description) only. */
  #bare (node: Json): Json {
    const target = this.#converter.deref(node) ?? {}
    const out: Json = {}
    const type = target.type ?? (target.properties ? 'object' : target.items ? 'array' : undefined)
    if (type !== undefined) out.type = type
    if (target.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null']
    const description = typeof node.description === 'string' ? node.description : target.description
    if (typeof description === 'string' && this.#converter.options.maxDescriptionChars > 0) out.description = shorten(description, Math.min(120, this.#converter.options.maxDescriptionChars))
    return out
  }

  #nested (sub: unknown, depth: number): unknown {
    this.#level++
    try {
      if (this.#level > this.#maxLevel && sub !== null && typeof sub === 'object' && !Array.isArray(sub)) return this.#bare(sub as Json)
      return this.convert(sub, depth)
    } finally {
      this.#level--
    }
  }

  /** The `$defs` that converted schemas of this context point into (empty when none). */
  get defs (): Record<string, unknown> {
    return this.#defs
  }

  convert (node: unknown, depth = 0): unknown {
    if (node === null || typeof node !== 'object') return node
    if (Array.isArray(node)) return node.map(item => this.convert(item, depth))
    const schema = node as Json
    const options = this.#converter.options
    const ref = schema.$ref
    if (typeof ref === 'string') {
      const siblings = this.#siblings(schema, depth)
      const resolved = this.#reference(ref, depth)
      return Object.keys(siblings).length === 0 ? resolved : mergeSiblings(resolved, siblings)
    }
    const out: Json = {}
    for (const [key, value] of Object.entries(schema)) {
      if (OPENAPI_ONLY.has(key)) continue
      if (options.dropNoise && (NOISE.has(key) || key.startsWith('x-'))) continue
      if (key === 'nullable') continue // OpenAPI 3.0 leftovers: folded into type below
      if (key === 'format' && typeof value === 'string' && !KNOWN_FORMATS.has(value)) {
        // The gateway's validator does not know it (and would warn on every compile): say it in words.
        const note = `(format: ${value})`
        out.description = typeof out.description === 'string' ? `${out.description} ${note}` : note
        continue
      }
      if (key === 'description' && typeof value === 'string') {
        const text = shorten(value, options.maxDescriptionChars)
        out.description = typeof out.description === 'string' ? `${text} ${out.description}` : text
      } else if (SCHEMA_MAPS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const map: Json = {}
        const level = key === 'properties' || key === 'patternProperties'
        for (const [name, sub] of Object.entries(value)) map[name] = level ? this.#nested(sub, depth + 1) : this.convert(sub, depth + 1)
        out[key === 'definitions' ? '$defs' : key] = map
      } else if (SCHEMA_VALUES.has(key) && value !== null && typeof value === 'object') {
        out[key] = key === 'items' || key === 'additionalProperties' ? this.#nested(value, depth + 1) : this.convert(value, depth + 1)
      } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
        out[key] = value.map(sub => this.convert(sub, depth + 1))
      } else {
        out[key] = value // enum, const, default, format, required, type, bounds, …
      }
    }
    if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null']
    repairKeywords(out)
    return out
  }

  #siblings (schema: Json, depth: number): Json {
    const rest: Json = {}
    for (const [key, value] of Object.entries(schema)) if (key !== '$ref') rest[key] = value
    return this.convert(rest, depth) as Json
  }

  #reference (ref: string, depth: number): unknown {
    const converter = this.#converter
    const placed = this.#placed.get(ref)
    if (placed !== undefined) return { $ref: `#/$defs/${placed}` }
    const small = converter.size(ref) <= converter.options.inlineMaxBytes
    if (small && !this.#inlining.has(ref) && depth < 64) {
      this.#inlining.add(ref)
      try {
        return this.convert(converter.target(ref), depth + 1)
      } finally {
        this.#inlining.delete(ref)
      }
    }
    let key = defName(ref)
    for (let n = 2; Object.hasOwn(this.#defs, key); n++) key = `${defName(ref)}_${n}`
    this.#placed.set(ref, key)
    this.#defs[key] = {} // placeholder: a recursive reference finds the key already placed
    this.#defs[key] = this.convert(converter.target(ref), 0)
    return { $ref: `#/$defs/${key}` }
  }
}

/** What real documents get wrong and a strict validator refuses: fixed so the schema compiles, said in the description. */
function repairKeywords (out: Json): void {
  const note = (text: string) => { out.description = typeof out.description === 'string' ? `${out.description} ${text}` : text }
  if (Array.isArray(out.enum)) {
    const seen = new Set<string>()
    out.enum = out.enum.filter(v => { const k = JSON.stringify(v); if (seen.has(k)) return false; seen.add(k); return true })
  }
  if (typeof out.pattern === 'string') {
    try {
      new RegExp(out.pattern, 'u') // eslint-disable-line no-new
    } catch {
      note(`(pattern: ${out.pattern})`)
      delete out.pattern
    }
  }
  for (const [exclusive, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[exclusive] !== 'boolean') continue
    if (out[exclusive] === true && typeof out[bound] === 'number') {
      out[exclusive] = out[bound]
      delete out[bound]
    } else delete out[exclusive]
  }
}

/** `{$ref, description}` → the referenced schema with the sibling keywords; allOf when both are schemas with structure. */
function mergeSiblings (resolved: unknown, siblings: Json): unknown {
  if (resolved !== null && typeof resolved === 'object' && !Array.isArray(resolved) && !('$ref' in resolved)) return { ...resolved as Json, ...siblings }
  return { allOf: [resolved], ...siblings }
}
