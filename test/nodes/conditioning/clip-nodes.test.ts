import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeContext } from '../../../engine/graph/context.ts';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import { writeSafetensors } from '../../../engine/io/safetensors.ts';
import { EmbeddingLibrary } from '../../../engine/models/clip/embeddings.ts';
import { ClipModel, releaseClipEncoders } from '../../../engine/models/clip/model.ts';
import { tinyHfClip } from '../../../engine/models/clip/synthetic.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import CLIPTextEncode from '../../../nodes/conditioning/CLIPTextEncode.ts';
import CLIPSetLastLayer from '../../../nodes/conditioning/CLIPSetLastLayer.ts';
import CLIPTextEncodeSDXL from '../../../nodes/conditioning/CLIPTextEncodeSDXL.ts';
import CLIPTextEncodeSDXLRefiner from '../../../nodes/conditioning/CLIPTextEncodeSDXLRefiner.ts';
import CLIPLoader from '../../../nodes/loaders/CLIPLoader.ts';
import DualCLIPLoader from '../../../nodes/loaders/DualCLIPLoader.ts';
import WeftCLIPSetWeighting from '../../../nodes/conditioning/WeftCLIPSetWeighting.ts';

const base = mkdtempSync(join(tmpdir(), 'weft-clipnodes-'));
after(async () => { await releaseClipEncoders(); rmSync(base, { recursive: true, force: true }); });
for (const d of ['models/text_encoders', 'models/embeddings', 'models/checkpoints', 'input', 'output', 'temp']) mkdirSync(join(base, d), { recursive: true });
const folders = createFolders({ modelsDir: join(base, 'models'), inputDir: join(base, 'input'), outputDir: join(base, 'output'), tempDir: join(base, 'temp') });
writeSafetensors(join(base, 'models/text_encoders/clip_l.safetensors'), tinyHfClip('text_model', { width: 32, layers: 2, seed: 11 }));
writeSafetensors(join(base, 'models/text_encoders/clip_g.safetensors'), tinyHfClip('text_model', { width: 48, layers: 2, seed: 12, projection: 48 }));
const ckpt = join(base, 'models/checkpoints/tiny_sd1.safetensors');
writeSdCheckpoint(ckpt, { family: 'sd1', seed: 3 });

const warnings: string[] = [];
function ctx(classType: string): NodeContext {
  return {
    nodeId: '1', classType, promptId: 'p', signal: new AbortController().signal, services: { folders, modelCacheDir: join(base, 'temp') },
    prompt: {}, extraPngInfo: undefined, progress() {}, checkAbort() {}, warn: (m) => warnings.push(m),
  };
}
async function out<T>(r: unknown): Promise<T> {
  const v = await r;
  return (Array.isArray(v) ? v : (v as { outputs: unknown[] }).outputs)[0] as T;
}
const first = (c: Conditioning) => ({ cond: c[0]![0], opts: c[0]![1] as Record<string, unknown> & { pooled_output: Tensor } });

test('CLIPTextEncode on a tiny generated SD1 checkpoint: [1,77,C] + pooled [1,C]; CLIPSetLastLayer changes a copy', async () => {
  const clip = ClipModel.fromCheckpoint(ckpt, { embeddings: new EmbeddingLibrary(folders) });
  const c = first(await out<Conditioning>(CLIPTextEncode.run!({ text: 'a (photo:1.2) of a cat', clip }, ctx('CLIPTextEncode'))));
  assert.deepEqual(c.cond.shape, [1, 77, 32]);
  assert.deepEqual(c.opts.pooled_output.shape, [1, 32]);
  assert.ok(c.cond.data.every(Number.isFinite));
  const skipped = await out<ClipModel>(CLIPSetLastLayer.run!({ clip, stop_at_clip_layer: -2 }, ctx('CLIPSetLastLayer')));
  assert.notEqual(skipped, clip);
  assert.equal(clip.layerIdx, null);
  const s = first(await out<Conditioning>(CLIPTextEncode.run!({ text: 'a (photo:1.2) of a cat', clip: skipped }, ctx('CLIPTextEncode'))));
  assert.notDeepEqual(s.cond.data, c.cond.data);
  warnings.length = 0;
  const m = first(await out<Conditioning>(CLIPTextEncode.run!({ text: 'a embedding:nowhere cat', clip }, ctx('CLIPTextEncode'))));
  assert.deepEqual(m.cond.data, first(await clip.encode('a cat')).cond.data, 'the rest still encodes');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /embedding:nowhere ignored/);
  await assert.rejects(async () => CLIPTextEncode.run!({ text: 'x', clip: 'not a clip' as never }, ctx('CLIPTextEncode')), /input "clip" is not a CLIP model/);
});

test('CLIPLoader (stable_diffusion) and DualCLIPLoader (sdxl) feed the SDXL encode nodes', async () => {
  const l = await out<ClipModel>(CLIPLoader.run!({ clip_name: 'clip_l.safetensors', type: 'stable_diffusion' }, ctx('CLIPLoader')));
  assert.equal(l.family, 'sd1');
  assert.deepEqual(first(await out<Conditioning>(CLIPTextEncode.run!({ text: 'a cat', clip: l }, ctx('CLIPTextEncode')))).cond.shape, [1, 77, 32]);
  const xl = await out<ClipModel>(DualCLIPLoader.run!({ clip_name1: 'clip_l.safetensors', clip_name2: 'clip_g.safetensors', type: 'sdxl' }, ctx('DualCLIPLoader')));
  assert.equal(xl.family, 'sdxl');
  const s = first(await out<Conditioning>(CLIPTextEncodeSDXL.run!({
    clip: xl, width: 1024, height: 1024, crop_w: 0, crop_h: 0, target_width: 1024, target_height: 1024, text_g: 'a photo of a cat', text_l: 'cat',
  }, ctx('CLIPTextEncodeSDXL'))));
  assert.deepEqual(s.cond.shape, [1, 77, 80]);
  assert.deepEqual(s.opts.pooled_output.shape, [1, 48]);
  assert.deepEqual(Object.keys(s.opts).sort(), ['crop_h', 'crop_w', 'height', 'pooled_output', 'target_height', 'target_width', 'width']);
  const r = first(await out<Conditioning>(CLIPTextEncodeSDXLRefiner.run!({ ascore: 6, width: 1024, height: 1024, text: 'a cat', clip: xl }, ctx('CLIPTextEncodeSDXLRefiner'))));
  assert.equal(r.opts.aesthetic_score, 6);
  assert.throws(() => DualCLIPLoader.run!({ clip_name1: 'clip_l.safetensors', clip_name2: 'clip_g.safetensors', type: 'flux' }, ctx('DualCLIPLoader')), /type flux needs a clip_l and a t5xxl text encoder/);
  assert.throws(() => CLIPLoader.run!({ clip_name: 'missing.safetensors', type: 'stable_diffusion' }, ctx('CLIPLoader')), /not found/);
});

test('WeftCLIPSetWeighting: a1111 mode on a copy; equal to encode(…, {mode}) and different from comfy for weighted prompts', async () => {
  const clip = ClipModel.fromCheckpoint(ckpt, { embeddings: new EmbeddingLibrary(folders) });
  const a1111 = await out<ClipModel>(WeftCLIPSetWeighting.run!({ clip, mode: 'a1111' }, ctx('WeftCLIPSetWeighting')));
  assert.notEqual(a1111, clip);
  assert.equal(clip.weighting, 'comfy', 'the input CLIP is untouched');
  const text = 'a (red:1.4) cat';
  const viaNode = first(await out<Conditioning>(CLIPTextEncode.run!({ text, clip: a1111 }, ctx('CLIPTextEncode')))).cond.data;
  assert.deepEqual(viaNode, first(await clip.encode(text, { mode: 'a1111' })).cond.data);
  assert.notDeepEqual(viaNode, first(await clip.encode(text)).cond.data);
});
