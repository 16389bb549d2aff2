/**
 * ComfyUI's default txt2img graph on a tiny SD1 checkpoint, end to end: through the real executor with the
 * real node registry and model runtime, and through the `weft run` command in a child process.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Executor, type RunResult } from '../../engine/execute/executor.ts';
import { readPngText } from '../../engine/io/png.ts';
import { createRegistry } from '../../nodes/index.ts';
import { addCheckpoint, tempEnv, type Env } from './helpers.ts';

let env: Env;
let executor: Executor;
const workflow = { last_node_id: 9, nodes: [], links: [], version: 0.4, note: 'stands in for the UI graph' };

function defaultGraph(ckpt: string, seed: number): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'beautiful scenery nature glass bottle landscape, purple galaxy bottle', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '3': {
      class_type: 'KSampler',
      inputs: { seed, steps: 3, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
  };
}

function savedFile(r: RunResult): string {
  const img = r.outputs['9']?.images?.[0] as { filename: string; subfolder: string } | undefined;
  assert.ok(img, `no image in ${JSON.stringify(r.outputs)} (${JSON.stringify(r.error)})`);
  return path.join(env.folders.outputDir, img.subfolder, img.filename);
}

before(() => {
  env = tempEnv();
  addCheckpoint(env, 'tiny-sd15.safetensors', { family: 'sd1', seed: 21 });
  executor = new Executor({ registry: createRegistry(), services: env.services });
});

test('the default graph runs through the executor; only the seed-dependent nodes re-run; same seed → same bytes', async () => {
  const run = (seed: number) => executor.execute(`p${seed}`, defaultGraph('tiny-sd15.safetensors', seed), { extraPngInfo: { workflow } });
  const a = await run(5);
  assert.equal(a.status, 'success', JSON.stringify(a.error));
  const fileA = savedFile(a);
  const png = fs.readFileSync(fileA);
  const text = readPngText(png);
  assert.equal(JSON.parse(text.prompt!)['3'].inputs.seed, 5);
  assert.equal(JSON.parse(text.workflow!).note, workflow.note);

  const b = await run(6);
  assert.equal(b.status, 'success', JSON.stringify(b.error));
  assert.deepEqual([...b.executed].sort(), ['3', '8', '9']);
  // A fresh executor (empty output cache) computes seed 5 again from scratch.
  const fresh = new Executor({ registry: createRegistry(), services: env.services });
  const c = await fresh.execute('again', defaultGraph('tiny-sd15.safetensors', 5), { extraPngInfo: { workflow } });
  assert.equal(c.executed.length, 7);
  const bytes = (r: RunResult) => fs.readFileSync(savedFile(r));
  assert.ok(bytes(c).equals(png), 'same seed, same graph: identical PNG bytes');
  assert.ok(!bytes(b).equals(png), 'another seed: another image');
});

test('`weft run` executes the same graph from an API JSON file: exit 0, a PNG with the prompt written', () => {
  const file = path.join(env.base, 'txt2img.json');
  fs.writeFileSync(file, JSON.stringify(defaultGraph('tiny-sd15.safetensors', 9)));
  const out = path.join(env.base, 'cli-out');
  const r = spawnSync(process.execPath, ['bin/weft.mjs', 'run', file, '--models', path.join(env.base, 'models'), '--output', out, '--temp', path.join(env.base, 'temp'), '--input', path.join(env.base, 'input')], {
    cwd: path.resolve(import.meta.dirname, '../..'), encoding: 'utf8', timeout: 120_000,
  });
  assert.equal(r.status, 0, `stderr: ${r.stderr}\nstdout: ${r.stdout}`);
  const written = r.stdout.trim().split('\n').filter((l) => l.endsWith('.png'));
  assert.equal(written.length, 1, r.stdout);
  const text = readPngText(fs.readFileSync(written[0]!));
  assert.equal(JSON.parse(text.prompt!)['3'].inputs.seed, 9);
});
