/**
 * `npm start` in browser mode: node scripts/start.mjs --browser brings the renderer bundle up to date,
 * starts the real server (writing the demo checkpoint into an empty WEFT_HOME), prints the URL, serves
 * the editor, and exits 0 on Ctrl-C. Plus the bundle's staleness check on a throwaway build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEMO_CHECKPOINT } from '../../engine/models/demo.ts';
// @ts-expect-error plain .mjs build script, no declarations
import { buildRenderer, rendererIsStale } from '../../scripts/build-renderer.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

test('start.mjs --browser prints the URL, serves the editor, and exits 0 on SIGINT', async () => {
  const home = mkdtempSync(join(tmpdir(), 'weft-start-'));
  const child = spawn(process.execPath, ['scripts/start.mjs', '--browser', '--port', '0'], {
    cwd: ROOT, env: { ...process.env, WEFT_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no URL within 60 s:\n${out}`)), 60_000);
      const check = () => {
        const m = /Weft is running\. Open (http:\/\/127\.0\.0\.1:\d+\/\S*) in your browser\./.exec(out);
        if (m) (clearTimeout(timer), res(m[1]!));
      };
      child.stdout.on('data', check);
      child.on('exit', () => (clearTimeout(timer), rej(new Error(`exited before printing the URL:\n${out}`))));
    });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<canvas id="graph"/);
    assert.match(html, /main\.js/);
    assert.equal((await fetch(new URL('/main.js', url))).status, 200, 'the bundle it references is served');
    assert.ok(existsSync(join(ROOT, 'out/renderer/index.html')));
    assert.equal(rendererIsStale(), false, 'start left an up-to-date bundle');
    assert.ok(existsSync(join(home, 'models', 'checkpoints', DEMO_CHECKPOINT)), 'the first run wrote the demo checkpoint into WEFT_HOME');
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
  } finally {
    child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

test('the renderer bundle counts as stale when missing or when a recorded source is newer', async () => {
  const base = mkdtempSync(join(tmpdir(), 'weft-stale-'));
  try {
    const out = join(base, 'renderer');
    assert.equal(rendererIsStale(out), true, 'missing');
    await buildRenderer({ outDir: out, minify: false });
    assert.equal(rendererIsStale(out), false, 'fresh build');
    // Point the stamp at a scratch source, then "edit" it after the build.
    const src = join(base, 'src.ts');
    writeFileSync(src, 'export {};');
    writeFileSync(join(out, 'build-inputs.json'), JSON.stringify({ builtAt: Date.now(), sources: [src] }));
    assert.equal(rendererIsStale(out), false);
    const later = new Date(Date.now() + 5000);
    utimesSync(src, later, later);
    assert.equal(rendererIsStale(out), true, 'a source changed after the build');
    rmSync(src);
    assert.equal(rendererIsStale(out), true, 'a source was deleted');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
