// The environment a hosted stdio server is started with: exactly what its config declares, plus
// PATH. Nothing else of Toolgate's own environment is passed on (not DATABASE_URL, not the
// TOOLGATE_* keys, not the admin token), because the child is code Toolgate did not write.
//
// Why PATH and nothing more: commands are usually `npx …`, `node …`, `uvx …`, which are found
// through PATH, and npx itself finds its package cache without HOME (npm falls back to the
// passwd entry through os.homedir()). A server that needs HOME, LANG, proxies… declares them.

/**
 * `declared` wins over the inherited PATH, so a config can pin its own. `inheritedPath` is the
 * gateway's PATH at spawn time; undefined leaves PATH unset unless declared.
 */
export function childEnvironment (declared: Record<string, string>, inheritedPath: string | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  if (inheritedPath !== undefined) env.PATH = inheritedPath
  for (const [name, value] of Object.entries(declared)) env[name] = value
  return env
}
