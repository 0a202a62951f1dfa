// node --no-node-snapshot bench/interceptors.ts [--quick]
// The interceptor micro-benchmark (bench/interceptor-micro.ts) as a command.
import { formatInterceptorMicroTable, runInterceptorMicroBench } from './interceptor-micro.ts'

const quick = process.argv.includes('--quick')
const started = performance.now()
const rows = await runInterceptorMicroBench({ quick })
console.log(formatInterceptorMicroTable(rows))
const jm = rows.find(r => r.body === '~1 KB' && r.variant === 'jmespath')
const js = rows.find(r => r.body === '~1 KB' && r.variant === 'js')
if (jm && js) console.log(`targets for a 1 KB body (median added cost): JMESPath ≤ 20 µs: ${jm.addedUs.toFixed(1)} µs; JS ≤ 60 µs: ${js.addedUs.toFixed(1)} µs`)
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
