import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-serve-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Starts `weft serve --port 0` in an empty home and resolves with the URL it prints. */
function serve(extra: string[]) {
  const child = spawn(process.execPath, [path.join(repo, 'bin/weft.mjs'), 'serve', '--port', '0', '--open-hint', ...extra], {
    cwd: dir,
    env: { ...process.env, WEFT_HOME: '' },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Open (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, exited, stderr: () => err };
}

test('weft serve: writes the labelled demo checkpoint into an empty models folder, serves the API, stops on SIGINT', async () => {
  const s = serve([]);
  const url = await s.url;
  const ckpts = (await (await fetch(`${url}/models/checkpoints`)).json()) as string[];
  assert.deepEqual(ckpts, ['weft-demo-tiny-sd15 (noise).safetensors']);
  assert.match(s.stderr(), /its images are noise/);
  const info = (await (await fetch(`${url}/object_info/KSampler`)).json()) as Record<string, { input_order: unknown }>;
  assert.ok(info.KSampler?.input_order);
  // The queue persists under the home's user/ folder.
  const r = await fetch(`${url}/queue/pause`, { method: 'POST' });
  assert.equal(r.status, 200);
  s.child.kill('SIGINT');
  assert.equal(await s.exited, 0);
});

test('weft serve --no-demo leaves the models folder alone', async () => {
  fs.rmSync(path.join(dir, 'models'), { recursive: true, force: true });
  const s = serve(['--no-demo']);
  const url = await s.url;
  assert.deepEqual(await (await fetch(`${url}/models/checkpoints`)).json(), []);
  s.child.kill('SIGINT');
  assert.equal(await s.exited, 0);
});

test('--ep names the execution provider; an unknown one is a usage error (exit 2)', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [path.join(repo, 'bin/weft.mjs'), 'serve', '--port', '0', '--ep', 'tpu'], { cwd: dir, encoding: 'utf8', env: { ...process.env, WEFT_HOME: '' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--ep must be auto or one of cpu, /);
  const s = serve(['--no-demo', '--ep', 'cpu']);
  const url = await s.url;
  const info = (await (await fetch(`${url}/weft/info`)).json()) as Record<string, unknown>;
  assert.match(String(info.execution_provider), /cpu/);
  s.child.kill('SIGINT');
  assert.equal(await s.exited, 0);
});
