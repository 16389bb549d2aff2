// How `npm start` runs Weft: the Electron window where its binary and a display exist, else the browser UI.
// Never require('electron') to probe: from plain Node that throws when the binary is missing, or triggers a
// download in newer Electron versions.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Absolute path of an installed Electron executable, or null (electron's path.txt, or ELECTRON_OVERRIDE_DIST_PATH). */
export function findElectronBinary(fromDir, env = process.env) {
  let pkgDir;
  try {
    pkgDir = dirname(createRequire(join(fromDir, 'noop.js')).resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathFile = join(pkgDir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  const bin = override ? join(override, rel ?? 'electron') : rel && join(pkgDir, 'dist', rel);
  return bin && existsSync(bin) ? bin : null;
}

/** Linux needs an X11 or Wayland display for a window. */
export function canShowWindow(env = process.env, platform = process.platform) {
  return platform !== 'linux' || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** { mode: 'electron', binary } or { mode: 'browser', why } for this checkout and environment. */
export function launchMode(root, { args = [], env = process.env, platform = process.platform } = {}) {
  if (args.includes('--browser')) return { mode: 'browser', why: null };
  const binary = findElectronBinary(root, env);
  if (!binary) return { mode: 'browser', why: 'no Electron binary installed (npm run electron:fetch installs it)' };
  if (!canShowWindow(env, platform)) return { mode: 'browser', why: 'no display' };
  return { mode: 'electron', binary };
}
