#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary and a display exist, otherwise the same UI served
// by the headless server on 127.0.0.1 (the URL is printed); scripts/launch-mode.mjs decides which.
import { dirname, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildRenderer, rendererIsStale } from './build-renderer.mjs';
import { launchMode } from './launch-mode.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const args = process.argv.slice(2);
const mode = launchMode(root, { args });
let child;
if (mode.mode === 'electron') {
  child = spawn(process.execPath, [join(root, 'app/main/launch.mjs'), mode.binary, ...args], { stdio: 'inherit', cwd: root });
} else {
  if (mode.why) console.log(`weft: ${mode.why}; serving the UI in your browser instead.`);
  // The server serves out/renderer as it is: bring it up to date first (esbuild, offline, ~1 s), so a
  // fresh clone or an edited source never shows a missing or stale editor.
  if (rendererIsStale()) {
    const t = Date.now();
    await buildRenderer();
    console.log(`weft: built the editor UI in ${Date.now() - t} ms`);
  }
  child = spawn(process.execPath, [join(root, 'bin/weft.mjs'), 'serve', '--open-hint', ...args.filter((a) => a !== '--browser')], {
    stdio: 'inherit',
    cwd: root,
  });
}
child.on('exit', (code) => process.exit(code ?? 0));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
