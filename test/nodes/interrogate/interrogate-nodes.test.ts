import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeContext } from '../../../engine/graph/context.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import { writeTinyFullClip } from '../../../engine/models/clip-vision/synthetic.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';
import WeftCLIPInterrogate from '../../../nodes/interrogate/WeftCLIPInterrogate.ts';
import WeftShowText from '../../../nodes/interrogate/WeftShowText.ts';
import { nodes } from '../../../nodes/interrogate/index.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-interrogate-node-'));
const modelsDir = path.join(root, 'models');
fs.mkdirSync(path.join(modelsDir, 'clip'), { recursive: true });
fs.mkdirSync(path.join(modelsDir, 'interrogator'), { recursive: true });
writeTinyFullClip(path.join(modelsDir, 'clip', 'tiny_full.safetensors'), { vision: { width: 32, layers: 2, patch: 4, imageSize: 16 } });
fs.writeFileSync(path.join(modelsDir, 'interrogator', 'subjects.txt'), '# mine\na lighthouse\na teapot\n');
const folders = createFolders({ modelsDir, inputDir: path.join(root, 'in'), outputDir: path.join(root, 'out'), tempDir: path.join(root, 'tmp') });
const warnings: string[] = [];
const ctx = {
  services: { folders, modelCacheDir: path.join(root, 'cache') },
  signal: new AbortController().signal, warn: (m: string) => warnings.push(m), checkAbort() {}, progress() {},
} as unknown as NodeContext;

function image(n: number) {
  const d = new Float32Array(n * 20 * 16 * 3);
  for (let i = 0; i < d.length; i++) d[i] = ((i * 53) % 97) / 96;
  return tensor([n, 20, 16, 3], d);
}

const run = (inputs: Record<string, unknown>) => (WeftCLIPInterrogate.run as (i: Record<string, unknown>, c: NodeContext) => Promise<unknown[]>)(inputs, ctx);

test('WeftCLIPInterrogate: a prompt from built-in + models/interrogator + extra phrases; the embedding cache lands on disk', async () => {
  const [fast] = await run({ image: image(1), clip_name: 'tiny_full.safetensors', mode: 'fast', max_phrases: 6, extra_phrases: 'a red bicycle\n' });
  assert.equal(typeof fast, 'string');
  const parts = (fast as string).split(', ');
  // one phrase per list: 5 built-in lists + subjects.txt + extra
  assert.equal(parts.length, 7);
  assert.ok(['a lighthouse', 'a teapot'].includes(parts[5]!));
  assert.equal(parts[6], 'a red bicycle');
  const cached = fs.readdirSync(path.join(root, 'cache', 'clip-interrogator')).filter((f) => f.endsWith('.emb'));
  assert.equal(cached.length, 7);
  const [best] = await run({ image: image(2), clip_name: 'tiny_full.safetensors', mode: 'best', max_phrases: 4 });
  const bp = (best as string).split(', ');
  assert.ok(bp.length >= 1 && bp.length <= 4);
  assert.ok(warnings.some((w) => /first of 2 images/.test(w)));
  const [classic] = await run({ image: image(1), clip_name: 'tiny_full.safetensors', mode: 'classic', max_phrases: 4 });
  assert.equal((classic as string).split(', ').length, 4 + 3);
});

test('WeftShowText shows its input as ui.text and passes it on', async () => {
  const r = await (WeftShowText.run as (i: Record<string, unknown>, c: NodeContext) => Promise<unknown>)({ text: 'a cat' }, ctx);
  assert.deepEqual(r, { ui: { text: ['a cat'] }, outputs: ['a cat'] });
  assert.equal(WeftShowText.outputNode, true);
  assert.deepEqual(nodes.map((n) => n.name), ['WeftCLIPInterrogate', 'WeftShowText']);
});
