import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createFolders } from '../../../engine/io/folders.ts';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { CLIP_PRESETS, sdxlAdm } from '../../../engine/models/clip/encode.ts';
import { EmbeddingLibrary } from '../../../engine/models/clip/embeddings.ts';
import { ClipModel, releaseClipEncoders } from '../../../engine/models/clip/model.ts';
import { tinyHfClip } from '../../../engine/models/clip/synthetic.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-clipmodel-'));
after(async () => { await releaseClipEncoders(); rmSync(dir, { recursive: true, force: true }); });
const sd1 = join(dir, 'sd1.safetensors');
const sdxl = join(dir, 'sdxl.safetensors');
writeSdCheckpoint(sd1, { family: 'sd1', seed: 7 });
writeSdCheckpoint(sdxl, { family: 'sdxl', seed: 8 });

const entry = (c: Awaited<ReturnType<ClipModel['encode']>>) => ({ cond: c[0]![0], opts: c[0]![1] as Record<string, unknown> & { pooled_output: Tensor } });

test('SD1 checkpoint: CLIP-L, [1,77,C] + pooled [1,C]; setLastLayer clones; long prompts add 77-token chunks', async () => {
  const clip = ClipModel.fromCheckpoint(sd1);
  assert.equal(clip.family, 'sd1');
  const { cond, opts } = entry(await clip.encode('a photo of a cat'));
  assert.deepEqual(cond.shape, [1, 77, 32]);
  assert.deepEqual(opts.pooled_output.shape, [1, 32]);
  const skip = clip.setLastLayer(-2);
  assert.equal(clip.layerIdx, null, 'the input CLIP is unchanged');
  const s = entry(await skip.encode('a photo of a cat'));
  assert.notDeepEqual(s.cond.data, cond.data, 'penultimate layer differs');
  assert.deepEqual(s.opts.pooled_output.data, opts.pooled_output.data, 'pooled always comes from the last layer');
  assert.deepEqual(entry(await clip.setLastLayer(-24).encode('a photo of a cat')).cond.data, cond.data, 'beyond the depth = last layer');
  assert.deepEqual(entry(await clip.encode(new Array(80).fill('cat').join(' '))).cond.shape, [1, 154, 32]);
  assert.throws(() => clip.setLastLayer(0), /negative integer/);
});

test('SDXL checkpoint: clip_l ‖ clip_g per token, pooled from clip_g; CLIPTextEncodeSDXL and refiner options', async () => {
  const clip = ClipModel.fromCheckpoint(sdxl);
  assert.equal(clip.family, 'sdxl');
  const { cond, opts } = entry(await clip.encode('a photo of a cat'));
  assert.deepEqual(cond.shape, [1, 77, 80]);
  assert.deepEqual(opts.pooled_output.shape, [1, 48]);
  const x = entry(await clip.encodeSdxl('a photo of a cat', 'a photo of a cat', { width: 1024, height: 768, cropW: 8, cropH: 16, targetWidth: 2048, targetHeight: 1536 }));
  assert.deepEqual(x.cond.data, cond.data, 'same text in both = CLIPTextEncode');
  assert.deepEqual({ ...x.opts, pooled_output: undefined }, { pooled_output: undefined, width: 1024, height: 768, crop_w: 8, crop_h: 16, target_width: 2048, target_height: 1536 });
  // Different prompt lengths: the shorter side is padded with empty chunks.
  const y = entry(await clip.encodeSdxl(new Array(80).fill('cat').join(' '), 'cat', { width: 1, height: 1, cropW: 0, cropH: 0, targetWidth: 1, targetHeight: 1 }));
  assert.deepEqual(y.cond.shape, [1, 154, 80]);
  const r = entry(await clip.encodeRefiner('a photo of a cat', 6.5, 640, 512));
  assert.equal(r.opts.aesthetic_score, 6.5);
  assert.equal(r.opts.width, 640);
  // SDXL clip skip: within depth no final LN (ComfyUI layer_norm_hidden_state=False), beyond depth "last" with LN.
  assert.deepEqual(clip.setLastLayer(-1).outputOptions('l'), { ...CLIP_PRESETS.sdxl_l, layer: -1 });
  assert.deepEqual(clip.setLastLayer(-24).outputOptions('g'), { ...CLIP_PRESETS.sdxl_g, layer: -1, finalNorm: true });
  await assert.rejects(ClipModel.fromCheckpoint(sd1).encodeSdxl('a', 'b', { width: 1, height: 1, cropW: 0, cropH: 0, targetWidth: 1, targetHeight: 1 }), /needs an SDXL CLIP/);
});

test('SD2 checkpoint: OpenCLIP ViT-H, penultimate layer by default, pads with 0 after EOS', async () => {
  const p = join(dir, 'sd2.safetensors');
  writeSdCheckpoint(p, { family: 'sd2', seed: 9 });
  const clip = ClipModel.fromCheckpoint(p);
  assert.equal(clip.family, 'sd2');
  assert.deepEqual(Array.from(clip.tokenize('a cat', 'h').chunks[0]!.ids).slice(0, 5), [49406, 320, 2368, 49407, 0]);
  const def = entry(await clip.encode('a cat'));
  assert.deepEqual(def.cond.shape, [1, 77, 32]);
  assert.deepEqual(entry(await clip.setLastLayer(-2).encode('a cat')).cond.data, def.cond.data, 'default = CLIPSetLastLayer(-2)');
  assert.notDeepEqual(entry(await clip.setLastLayer(-1).encode('a cat')).cond.data, def.cond.data);
});

test('weighting modes: comfy interpolates from the empty prompt; a1111 scales and restores each chunk mean', async () => {
  const clip = ClipModel.fromCheckpoint(sd1);
  const plain = entry(await clip.encode('a red cat')).cond.data;
  const comfy = entry(await clip.encode('a (red:1.5) cat')).cond.data;
  const a1111 = entry(await clip.encode('a (red:1.5) cat', { mode: 'a1111' })).cond.data;
  assert.notDeepEqual(comfy, a1111);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(a1111) - mean(plain)) < 1e-5);
  // the weighted token is the plain one times 1.5 times the common scale; others only the scale
  const C = 32, k = a1111[0]! / plain[0]!;
  for (let d = 0; d < C; d++) assert.ok(Math.abs(a1111[2 * C + d]! - plain[2 * C + d]! * 1.5 * k) < 1e-4);
  assert.deepEqual(entry(await clip.encode('a red cat', { mode: 'a1111' })).cond.data, plain, 'no weights, no change');
  const c = clip.clone();
  c.weighting = 'a1111';
  assert.deepEqual(entry(await c.encode('a (red:1.5) cat')).cond.data, a1111, 'the CLIP can carry the mode');
  await assert.rejects(clip.withPatches([{ key: 'lora', strength: 1 }]).encode('a'), /patch\(es\) of a kind the LoRA module cannot apply/);
});

test('standalone text encoders: CLIPLoader stable_diffusion (CLIP-L → SD1) and sdxl pairs in either order', async () => {
  const l = join(dir, 'clip_l.safetensors'), g = join(dir, 'clip_g.safetensors'), inCkpt = join(dir, 'l_ckpt.safetensors');
  writeSafetensors(l, tinyHfClip('text_model', { width: 32, layers: 2, seed: 4 }));
  writeSafetensors(inCkpt, tinyHfClip('cond_stage_model.transformer.text_model', { width: 32, layers: 2, seed: 4 }));
  writeSafetensors(g, tinyHfClip('text_model', { width: 48, layers: 2, seed: 5, projection: 48 }));
  const one = ClipModel.fromTextEncoders([l], 'stable_diffusion');
  assert.equal(one.family, 'sd1');
  assert.deepEqual(entry(await one.encode('a cat')).cond.data, entry(await ClipModel.fromCheckpoint(inCkpt).encode('a cat')).cond.data);
  const a = ClipModel.fromTextEncoders([l, g], 'sdxl'), b = ClipModel.fromTextEncoders([g, l], 'sdxl');
  assert.equal(a.encoders.g!.path, g);
  assert.equal(b.encoders.g!.path, g);
  assert.equal(a.encoders.g!.encoder.spec.activation, 'gelu', 'bigG uses exact gelu');
  assert.deepEqual(entry(await a.encode('a cat')).cond.shape, [1, 77, 80]);
  assert.throws(() => ClipModel.fromTextEncoders([l, g], 'flux'), /CLIP type "flux".*FLUX/);
  assert.throws(() => ClipModel.fromTextEncoders([l], 'sd3'), /CLIP type "sd3" with 1 file\(s\) is not supported yet/);
});

const CONF = resolve(import.meta.dirname, '../../../../shared/conformance');
const HAVE = existsSync(join(CONF, 'cases.json'));

test('conformance from TEXT: tokenizer + parser + embeddings + encoder match ComfyUI', { skip: HAVE ? false : `${CONF} not found` }, async () => {
  const cases = JSON.parse(readFileSync(join(CONF, 'cases.json'), 'utf8')).cases as Array<{ name: string; file: string; params: Record<string, any>; expected: Record<string, { tensor: string }>; tolerance: { abs: number; rel_to_max: number }; models: Record<string, string> }>;
  const models = join(CONF, 'models');
  const folders = createFolders({ modelsDir: models, inputDir: dir, outputDir: dir, tempDir: dir });
  let n = 0;
  for (const c of cases) {
    if (!/^(clip_prompt_|sdxl_clip_prompt_|sd2v_clip_prompt_|sdxl_textencode_sdxl_node$)/.test(c.name)) continue;
    const clip = ClipModel.fromCheckpoint(join(CONF, c.models.checkpoint!), { embeddings: new EmbeddingLibrary(folders) });
    const got: Record<string, Float32Array> = {};
    if (c.name.startsWith('clip_prompt_')) {
      const last = entry(await clip.encode(c.params.text)), skip = entry(await clip.setLastLayer(-2).encode(c.params.text));
      Object.assign(got, { cond_last: last.cond.data, pooled_last: last.opts.pooled_output.data, cond_clipskip2: skip.cond.data, pooled_clipskip2: skip.opts.pooled_output.data });
    } else if (c.name.startsWith('sd2v_')) {
      const def = entry(await clip.encode(c.params.text));
      Object.assign(got, { cond: def.cond.data, pooled: def.opts.pooled_output.data, cond_last_layer: entry(await clip.setLastLayer(-1).encode(c.params.text)).cond.data });
    } else if (c.name.startsWith('sdxl_clip_')) {
      const r = entry(await clip.encode(c.params.text));
      Object.assign(got, { cond: r.cond.data, pooled: r.opts.pooled_output.data });
    } else {
      const p = c.params;
      const r = entry(await clip.encodeSdxl(p.text_g, p.text_l, { width: p.width, height: p.height, cropW: p.crop_w, cropH: p.crop_h, targetWidth: p.target_width, targetHeight: p.target_height }));
      const o = r.opts as Record<string, number> & { pooled_output: Tensor };
      Object.assign(got, { cond: r.cond.data, pooled: o.pooled_output.data, y: sdxlAdm(o.pooled_output.data, { width: o.width, height: o.height, cropW: o.crop_w, cropH: o.crop_h, targetWidth: o.target_width, targetHeight: o.target_height }) });
    }
    const f = SafetensorsFile.open(join(CONF, c.file));
    try {
      for (const [name, ref] of Object.entries(c.expected)) {
        const want = f.readFloat32(ref.tensor);
        const have = got[name];
        assert.ok(have, `${c.name}: nothing computed for ${name}`);
        assert.equal(have.length, want.length, `${c.name}.${name} size`);
        let max = 0, diff = 0;
        for (let i = 0; i < want.length; i++) { max = Math.max(max, Math.abs(want[i]!)); diff = Math.max(diff, Math.abs(have[i]! - want[i]!)); }
        assert.ok(diff <= c.tolerance.abs + c.tolerance.rel_to_max * max, `${c.name}.${name}: max diff ${diff}`);
        n++;
      }
    } finally {
      f.close();
    }
  }
  assert.ok(n >= 30, `only ${n} tensors compared`);
});
