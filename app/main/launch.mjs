#!/usr/bin/env node
// Starts the desktop app: node app/main/launch.mjs <electronBinary> [args]
// Bundles main, preload and the renderer into out/ first when sources are newer (esbuild, ~1 s),
// then runs Electron on out/main.cjs and exits with its code.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const [bin, ...args] = process.argv.slice(2);
if (!bin) {
  console.error('usage: node app/main/launch.mjs <electron binary> [args]');
  process.exit(2);
}

function newest(dir) {
  let t = 0;
  for (const f of readdirSync(dir, { recursive: true })) {
    const p = join(dir, String(f));
    if (!String(f).includes('node_modules')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

const outMain = join(root, 'out/main.cjs');
const stale = !existsSync(outMain) || !existsSync(join(root, 'out/renderer/index.html')) ||
  Math.max(newest(join(root, 'app')), newest(join(root, 'engine')), newest(join(root, 'nodes'))) > statSync(outMain).mtimeMs;
if (stale) {
  const { buildRenderer, buildElectron } = await import('../../scripts/build-renderer.mjs');
  await buildRenderer();
  await buildElectron();
}

// ELECTRON_RUN_AS_NODE in the environment would turn the binary into plain Node: never pass it on.
const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(bin, [outMain, ...args], { stdio: 'inherit', cwd: root, env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
