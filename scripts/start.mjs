#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary and a display exist, otherwise the same UI served
// by the headless server on 127.0.0.1 (the URL is printed). Never require('electron') to probe: from plain
// Node that throws when the binary is missing, or triggers a download in newer Electron versions.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildRenderer, rendererIsStale } from './build-renderer.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function findElectronBinary(fromDir = root) {
  let pkgDir;
  try {
    pkgDir = dirname(createRequire(join(fromDir, 'noop.js')).resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathFile = join(pkgDir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const bin = override ? join(override, rel ?? 'electron') : rel && join(pkgDir, 'dist', rel);
  return bin && existsSync(bin) ? bin : null;
}

export function canShowWindow(env = process.env, platform = process.platform) {
  return platform !== 'linux' || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

const args = process.argv.slice(2);
const forceBrowser = args.includes('--browser');
const bin = forceBrowser ? null : findElectronBinary();
let child;
if (bin && canShowWindow() && existsSync(join(root, 'app/main/launch.mjs'))) {
  child = spawn(process.execPath, [join(root, 'app/main/launch.mjs'), bin, ...args], { stdio: 'inherit', cwd: root });
} else {
  if (!forceBrowser) {
    const why = !bin ? 'no Electron binary installed (npm run electron:fetch installs it)' : 'no display';
    console.log(`weft: ${why}; serving the UI in your browser instead.`);
  }
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
