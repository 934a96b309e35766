#!/usr/bin/env node
// Runs a TypeScript entry from source: workspace packages resolve to src/ through the
// "source" export condition, and tsx transpiles. Worker threads inherit these flags.
import { spawnSync } from 'node:child_process';
const [entry, ...rest] = process.argv.slice(2);
if (!entry) { console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]'); process.exit(2); }
const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', entry, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
