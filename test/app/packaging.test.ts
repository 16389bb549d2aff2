/**
 * Offline packaging check: electron-builder `--linux dir` against a stub Electron distribution (no
 * download), then asserts that the app is whitelisted as intended and that onnxruntime-node's and
 * sharp's native addons sit in app.asar.unpacked, with other platforms' ORT binaries excluded.
 * AppImage/deb/nsis/dmg need tool downloads, so only the unpacked directory is built here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
// @ts-expect-error plain .mjs build script, no declarations
import { buildElectron, buildRenderer } from '../../scripts/build-renderer.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

function walk(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, base, out);
    else out.push(p.slice(base.length + 1));
  }
  return out;
}

test('electron-builder packs the app with native addons outside app.asar', { timeout: 120_000 }, async () => {
  await buildRenderer();
  await buildElectron();
  const stub = mkdtempSync(join(tmpdir(), 'electron-stub-'));
  const out = mkdtempSync(join(tmpdir(), 'weft-pack-'));
  try {
    writeFileSync(join(stub, 'electron'), '#!/bin/sh\necho "stub electron: packaging test only" >&2\nexit 1\n');
    chmodSync(join(stub, 'electron'), 0o755);
    mkdirSync(join(stub, 'resources'));
    for (const f of ['LICENSE', 'LICENSES.chromium.html', 'version']) writeFileSync(join(stub, f), '');
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/electron-builder/cli.js'), '--linux', 'dir', '--config', 'electron-builder.yml',
        `-c.electronDist=${stub}`, `-c.directories.output=${out}`, '--publish', 'never'],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', CSC_IDENTITY_AUTO_DISCOVERY: 'false' } },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const resources = join(out, 'linux-unpacked', 'resources');
    assert.ok(existsSync(join(resources, 'app.asar')));
    const unpacked = walk(join(resources, 'app.asar.unpacked'));
    const natives = unpacked.filter((f) => /\.node$|\.so(\.\d+)*$/.test(f));
    assert.ok(natives.some((f) => f.startsWith('node_modules/onnxruntime-node/') && f.includes('/linux/x64/') && f.endsWith('.node')), natives.join('\n'));
    assert.ok(natives.some((f) => f.startsWith('node_modules/@img/sharp-linux-x64/') && f.endsWith('.node')), natives.join('\n'));
    assert.ok(!unpacked.some((f) => /onnxruntime-node\/bin\/napi-v\d+\/(darwin|win32)\//.test(f)), 'other platforms\' ORT binaries are excluded');
    const listing = spawnSync(process.execPath, [join(ROOT, 'node_modules/@electron/asar/bin/asar.js'), 'list', join(resources, 'app.asar')], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    {
      const files = listing.stdout.split('\n');
      for (const f of ['/out/main.cjs', '/out/preload.cjs', '/out/renderer/index.html', '/app/main/server-host.ts', '/nodes/index.ts', '/engine/server/index.ts']) assert.ok(files.includes(f), `${f} is packed`);
      const stray = files.filter((f) => f.startsWith('/test/') || f.startsWith('/app/renderer/') || f.startsWith('/bench/'));
      assert.deepEqual(stray, [], 'tests, benches and renderer sources stay out');
    }
  } finally {
    rmSync(stub, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});
