#!/usr/bin/env -S node --no-node-snapshot
// Runs the TypeScript sources directly: Node 24 strips types natively, so there is no build step
// between `npm ci` and running Toolgate.
import { main } from '../src/cli/main.ts'
await main()
