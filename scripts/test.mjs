#!/usr/bin/env node
// Runs the whole suite: a strict typecheck, then Node 20's test runner needs an explicit file list (it expands no globs),
// so the list is built here from every *.test.ts under test/. Then the conformance runner runs on
// ../shared/conformance when that folder exists, and says so when it skips.
import { readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const files = readdirSync(join(root, 'test'), { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
  .map((f) => join('test', f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under test/');
  process.exit(1);
}

let failed = false;
// Strict typecheck of every project (engine, nodes, app, tests, benches; the renderer with its own DOM config).
if (only.length === 0) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const project of ['tsconfig.json', 'app/renderer/tsconfig.json']) {
    const t = spawnSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
    console.log(`typecheck ${project}: ${t.status === 0 ? 'ok' : 'FAILED'}`);
    if (t.status !== 0) failed = true;
  }
}
const conf = resolve(root, '..', 'shared', 'conformance');
if (only.length === 0) {
  if (existsSync(join(conf, 'cases.json'))) {
    console.log(`conformance: running on ${conf}`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'engine/conformance/main.ts', conf], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed = true;
  } else {
    console.log(`conformance: skipped (${conf} not found; a clone without ../shared has no golden data)`);
  }
}

const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit' });
process.exit(failed || r.status !== 0 ? 1 : 0);
