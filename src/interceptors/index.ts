// The interceptors folder's public face: tools/, mcp/ and gateway/ import from here only.
export * from './types.ts'
export { JsonPayload } from './payload.ts'
export { InterceptorFailure } from './errors.ts'
export { InterceptorRuntime, type CompiledChain, type CompiledInterceptor, type InterceptorRuntimeOptions, type InterceptorRuntimeStats } from './runtime.ts'
export { checkInterceptorSource, type InterceptorSyntaxProblem } from './check.ts'
export { testInterceptor, type InterceptorTestRequest, type InterceptorTestReport } from './tester.ts'
