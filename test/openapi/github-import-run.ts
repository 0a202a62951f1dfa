// Imports GitHub's REST description (@octokit/openapi, 1,000+ operations) in a process of its own,
// so time and peak RSS are the import's alone; prints one JSON line. Run by github.test.ts, and by
// hand: node --no-node-snapshot test/openapi/github-import-run.ts
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createAjv } from '../../src/config/ajv.ts'
import { TOOL_NAME, type ConfigDocument } from '../../src/config/document.ts'
import { validateDocument } from '../../src/config/validate.ts'
import { planImport, readOpenApi } from '../../src/openapi/index.ts'
import { compileConfig } from '../../src/tools/compile.ts'

const file = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json')
const started = performance.now()
const loaded = await readOpenApi({ text: readFileSync(file, "utf8") })
const parsedMs = performance.now() - started
const doc: ConfigDocument = {}
const plan = planImport(doc, loaded, { server: 'github', outputSchemas: process.argv.includes('--no-output') ? false : undefined } as never)
const importMs = performance.now() - started
const importMaxRssMB = Math.round(process.resourceUsage().maxRSS / 1024)
const tools = doc.servers![0]!.tools!

const nameFormat = new RegExp(TOOL_NAME)
const problems: string[] = []
const names = new Set<string>()
const ajv = createAjv()
for (const tool of tools) {
  if (!nameFormat.test(tool.name)) problems.push(`invalid name ${tool.name}`)
  if (names.has(tool.name)) problems.push(`duplicate name ${tool.name}`)
  names.add(tool.name)
  if (!tool.description) problems.push(`${tool.name}: no description`)
  try { ajv.compile(tool.input!) } catch (err) { problems.push(`${tool.name}: input: ${(err as Error).message}`) }
}
const checkedMs = performance.now() - started
validateDocument(doc)
doc.servers![0]!.discovery = true
const compiled = compileConfig(doc, 1, new Map((doc.variables ?? []).map(v => [v.name, v.value ?? ''])), { timeoutMs: 1000, maxResponseBytes: 1024 })
const compiledMs = performance.now() - started
const server = compiled.servers.get('github')!
const ranking = server.discovery!.rank('create an issue comment', 5)
const discoveryList = Buffer.byteLength(JSON.stringify({ tools: server.discovery!.descriptors(true) }))
const fullList = Buffer.byteLength(JSON.stringify({ tools: server.toolList.map(t => t.descriptor) }))
console.log(JSON.stringify({
  operations: plan.created.length + plan.skipped.length,
  created: plan.created.length,
  skipped: plan.skipped,
  problems: problems.slice(0, 20),
  compiledTools: server.toolList.length,
  parseValidateMs: Math.round(parsedMs),
  importMs: Math.round(importMs),
  checkInputsMs: Math.round(checkedMs - importMs),
  compileMs: Math.round(compiledMs - checkedMs),
  totalMs: Math.round(compiledMs),
  importMaxRssMB,
  maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  ranking,
  toolList: { before: plan.toolList.before, after: plan.toolList.after, fullBytes: fullList, discoveryBytes: discoveryList }
}))
