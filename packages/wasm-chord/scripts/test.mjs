#!/usr/bin/env node
// npm test: the TypeScript unit tests (node --test), then the integration tests that load the real
// model through the built package in Node and in Deno and compare greedy text with the native CLI.
//
//   WASM_CHORD_UNIT_ONLY=1     run the unit tests only (no wasm build, model or CLI needed)
//   WASM_CHORD_MODEL=PATH      the GGUF (default: what bash scripts/test-model.sh prints)
//   WASM_CHORD_CLI=PATH        the native CLI (default: target/release/wasm-chord at the repo root)

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(pkg, 'package.json'));

function run(cmd, args, env = {}) {
  console.log(`\n$ ${[path.basename(cmd), ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: pkg, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`error: ${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

// Unit tests: compile test/unit (and the src modules they import) to .build-test/, then run them.
fs.rmSync(path.join(pkg, '.build-test'), { recursive: true, force: true });
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'test/tsconfig.json']);
const unitDir = path.join(pkg, '.build-test', 'test', 'unit');
const unitFiles = fs.readdirSync(unitDir).filter((f) => f.endsWith('.test.js')).map((f) => path.join(unitDir, f));
run(process.execPath, ['--test', ...unitFiles]);

if (process.env.WASM_CHORD_UNIT_ONLY === '1') process.exit(0);

// Integration: the built package against the real model and the native CLI.
run(process.execPath, [path.join(pkg, 'scripts', 'build.mjs')]);
const repo = path.resolve(pkg, '..', '..');
const model =
  process.env.WASM_CHORD_MODEL ||
  execFileSync('bash', [path.join(repo, 'scripts', 'test-model.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const cli = process.env.WASM_CHORD_CLI || path.join(repo, 'target', 'release', 'wasm-chord');
if (!fs.existsSync(cli)) {
  console.error(`error: the native CLI ${cli} is missing: cargo build --release -p wasm-chord-cli (or set WASM_CHORD_CLI)`);
  process.exit(1);
}
const env = { WASM_CHORD_MODEL: model, WASM_CHORD_CLI: cli };
run(process.execPath, ['--test', path.join(pkg, 'test', 'integration', 'node.test.mjs')], env);
const deno = path.join(path.dirname(require.resolve('deno/package.json')), 'bin.cjs');
run(process.execPath, [deno, 'test', '--allow-read', '--allow-env', '--allow-run', '--no-prompt',
  path.join(pkg, 'test', 'integration', 'deno.test.ts')], env);
