// `${NAME}` references to config variables, in provider base URLs, default headers, tool headers
// and tool paths. Parsed once; resolved when a config version is compiled, never per call.

const VARIABLE_REF = /\$\{([^}]*)\}/g

/** Names referenced by a template, in order (duplicates kept out). */
export function referencedVariables (template: string): string[] {
  const names = new Set<string>()
  for (const match of template.matchAll(VARIABLE_REF)) names.add(match[1]!)
  return [...names]
}

/** Replaces every `${NAME}`; the caller has already checked that each name exists. */
export function resolveTemplate (template: string, values: ReadonlyMap<string, string>): string {
  return template.replace(VARIABLE_REF, (_, name: string) => {
    const value = values.get(name)
    if (value === undefined) throw new Error(`unknown variable \${${name}}`)
    return value
  })
}
