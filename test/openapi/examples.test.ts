// Every document of @readme/oas-examples (Swagger 2.0, OpenAPI 3.0 and 3.1; JSON and YAML) imports
// with no crash; every tool has a valid unique name and a description, its input schema compiles
// with the gateway's Ajv, and the whole result passes the config validator and the compiler.
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import t from 'tap'
import { createAjv } from '../../src/config/ajv.ts'
import { TOOL_NAME, type ConfigDocument } from '../../src/config/document.ts'
import { validateDocument } from '../../src/config/validate.ts'
import { planImport, readOpenApi } from '../../src/openapi/index.ts'
import { compileConfig } from '../../src/tools/compile.ts'

t.setTimeout(180_000)

const root = dirname(createRequire(import.meta.url).resolve('@readme/oas-examples/package.json'))
const files: string[] = []
for (const version of ['2.0', '3.0', '3.1']) {
  for (const format of ['json', 'yaml']) {
    const dir = join(root, version, format)
    for (const name of readdirSync(dir)) if (/\.(json|ya?ml)$/.test(name)) files.push(join(dir, name))
  }
}

t.test('every oas-examples document imports', async t => {
  t.ok(files.length >= 100, `${files.length} documents`)
  const ajv = createAjv()
  const nameFormat = new RegExp(TOOL_NAME)
  let tools = 0
  for (const file of files) {
    const label = file.slice(root.length + 1)
    const loaded = await readOpenApi({ text: readFileSync(file, 'utf8') })
    const doc: ConfigDocument = {}
    const plan = planImport(doc, loaded, { server: 'examples', baseUrl: 'https://api.example.com' })
    const list = doc.servers![0]!.tools ?? []
    tools += list.length
    const names = new Set<string>()
    for (const tool of list) {
      if (!nameFormat.test(tool.name)) t.fail(`${label}: invalid name ${tool.name}`)
      if (names.has(tool.name)) t.fail(`${label}: duplicate name ${tool.name}`)
      names.add(tool.name)
      if (!tool.description) t.fail(`${label}: ${tool.name} has no description`)
      try { ajv.compile(tool.input!) } catch (err) { t.fail(`${label}: ${tool.name} input: ${(err as Error).message}`) }
    }
    t.equal(plan.created.length + plan.skipped.length, plan.created.length + plan.skipped.length)
    try {
      validateDocument(doc)
      compileConfig(doc, 1, new Map((doc.variables ?? []).map(v => [v.name, v.value ?? 'x'])), { timeoutMs: 1000, maxResponseBytes: 1024 })
    } catch (err) {
      t.fail(`${label}: ${(err as Error).message}`)
    }
  }
  t.ok(tools > 500, `${tools} tools from ${files.length} documents`)
})
