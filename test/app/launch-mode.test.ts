/** `npm start`'s choice: Electron where its binary and a display exist, the browser UI otherwise. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error plain ESM script without types
import { launchMode } from '../../scripts/launch-mode.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-electron-dist-'));
after(() => fs.rmSync(dist, { recursive: true, force: true }));

test('electron only with a binary and a display; --browser always serves the browser UI', () => {
  const noBinary = { ELECTRON_OVERRIDE_DIST_PATH: path.join(dist, 'nowhere') };
  assert.deepEqual(launchMode(root, { env: { ...noBinary, DISPLAY: ':0' }, platform: 'linux' }).mode, 'browser');
  assert.match(launchMode(root, { env: { ...noBinary, DISPLAY: ':0' }, platform: 'linux' }).why, /no Electron binary/);

  fs.writeFileSync(path.join(dist, 'electron'), '#!/bin/sh\n');
  const withBinary = { ELECTRON_OVERRIDE_DIST_PATH: dist };
  // The electron package ships no path.txt here (its download is skipped), so the override names the binary.
  const hasPathTxt = fs.existsSync(path.join(root, 'node_modules/electron/path.txt'));
  const expectBinary = hasPathTxt ? path.join(dist, fs.readFileSync(path.join(root, 'node_modules/electron/path.txt'), 'utf8').trim()) : path.join(dist, 'electron');
  if (hasPathTxt) fs.mkdirSync(path.dirname(expectBinary), { recursive: true }), fs.writeFileSync(expectBinary, '');
  assert.deepEqual(launchMode(root, { env: { ...withBinary, DISPLAY: ':0' }, platform: 'linux' }), { mode: 'electron', binary: expectBinary });
  assert.deepEqual(launchMode(root, { env: { ...withBinary, WAYLAND_DISPLAY: 'wayland-0' }, platform: 'linux' }).mode, 'electron');
  assert.deepEqual(launchMode(root, { env: withBinary, platform: 'linux' }), { mode: 'browser', why: 'no display' });
  assert.equal(launchMode(root, { env: withBinary, platform: 'darwin' }).mode, 'electron', 'macOS and Windows need no DISPLAY');
  assert.deepEqual(launchMode(root, { args: ['--browser'], env: { ...withBinary, DISPLAY: ':0' }, platform: 'linux' }), { mode: 'browser', why: null });
});
