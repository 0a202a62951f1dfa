// Turns JSON Pointers (Ajv's instancePath) into the document paths people read: servers[0].tools[2].path

export function pointerToPath (pointer: string, base = ''): string {
  let out = base
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    // joinKey returns the whole path, so assign (appending would repeat the prefix).
    out = /^\d+$/.test(segment) ? `${out}[${segment}]` : joinKey(out, segment)
  }
  return out
}

export function joinKey (path: string, key: string): string {
  const safe = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key)
  if (!/^[A-Za-z_$]/.test(safe)) return `${path}[${safe}]`
  return path ? `${path}.${safe}` : safe
}
