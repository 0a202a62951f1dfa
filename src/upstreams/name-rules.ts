// A server's include/exclude/rename rules, compiled once per config version: which upstream tools
// and prompts clients see, under which names, and which upstream tool a client's name means.
//
// - include / exclude match upstream names (before renaming); `*` matches any run of characters.
//   An empty include keeps everything; exclude wins over include.
// - rename maps upstream tool names to exposed names (tools only; prompts keep their names).
//   When a renamed tool takes the name of an upstream tool that keeps its own, the renamed one
//   wins and the other is hidden: calls to that name reach the renamed tool, so listing both
//   would show a tool that cannot be called.
import type { UpstreamNameRules } from '../tools/compiled.ts'

export interface NameRules {
  /** The tools clients see: filtered, renamed, in upstream order. */
  exposeTools (tools: Array<Record<string, unknown>>): Array<Record<string, unknown>>
  /** The prompts clients see: filtered. */
  exposePrompts (prompts: Array<Record<string, unknown>>): Array<Record<string, unknown>>
  /** The upstream name behind an exposed tool name; undefined when no visible tool has that name. */
  upstreamToolName (exposed: string): string | undefined
  /** Whether a prompt of that (upstream = exposed) name is visible. */
  promptVisible (name: string): boolean
}

function globToRegExp (pattern: string): RegExp {
  const escaped = pattern.split('*').map(part => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(`^${escaped}$`)
}

export function compileNameRules (rules: UpstreamNameRules): NameRules {
  const include = rules.include.map(globToRegExp)
  const exclude = rules.exclude.map(globToRegExp)
  const visible = (upstreamName: string) =>
    (include.length === 0 || include.some(re => re.test(upstreamName))) && !exclude.some(re => re.test(upstreamName))
  const renamedFrom = new Map<string, string>()
  for (const [upstream, exposed] of Object.entries(rules.rename)) renamedFrom.set(exposed, upstream)

  const upstreamToolName = (exposed: string): string | undefined => {
    const upstream = renamedFrom.get(exposed) ?? (Object.hasOwn(rules.rename, exposed) ? undefined : exposed)
    return upstream !== undefined && visible(upstream) ? upstream : undefined
  }

  return {
    exposeTools (tools) {
      const out: Array<Record<string, unknown>> = []
      for (const tool of tools) {
        const name = tool.name
        if (typeof name !== 'string' || !visible(name)) continue
        const exposed = Object.hasOwn(rules.rename, name) ? rules.rename[name]! : name
        // The exposed name must lead back to this tool (it does not when a rename took it over).
        if (upstreamToolName(exposed) !== name) continue
        out.push(exposed === name ? tool : { ...tool, name: exposed })
      }
      return out
    },
    exposePrompts (prompts) {
      return prompts.filter(prompt => typeof prompt.name === 'string' && visible(prompt.name))
    },
    upstreamToolName,
    promptVisible: visible
  }
}
