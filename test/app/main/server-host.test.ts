/**
 * The desktop shell's embedded server, loaded the way out/main.cjs loads it (tsx's tsImport from a
 * CommonJS caller): loopback, random port, per-launch token turned into a cookie, the UI served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';
// @ts-expect-error plain .mjs build script, no declarations
import { buildRenderer } from '../../../scripts/build-renderer.mjs';

const ROOT = resolve(import.meta.dirname, '../../..');

test('the hosted server needs the launch token, then serves the UI with a cookie session', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-desktop-'));
  const staticDir = await buildRenderer({ outDir: join(dataDir, 'renderer'), minify: false });
  const { hostServer } = (await tsImport(join(ROOT, 'app/main/server-host.ts'), join(ROOT, 'out/main.cjs'))) as typeof import('../../../app/main/server-host.ts');
  const hosted = await hostServer({ dataDir, staticDir });
  try {
    assert.match(hosted.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(hosted.origin).port, '8188');
    assert.equal((await fetch(`${hosted.origin}/object_info`)).status, 401);
    assert.equal((await fetch(`${hosted.origin}/?token=wrong`)).status, 401);
    const page = await fetch(hosted.entryUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<canvas id="graph"/);
    const cookie = page.headers.get('set-cookie')!.split(';')[0];
    assert.match(cookie, /^weft_token=/);
    const info = await fetch(`${hosted.origin}/object_info`, { headers: { cookie } });
    assert.equal(info.status, 200);
    assert.ok('KSampler' in ((await info.json()) as object));
  } finally {
    await hosted.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
