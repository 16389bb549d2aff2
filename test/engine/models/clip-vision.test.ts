import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { ClipVisionModel, clipVisionSpec } from '../../../engine/models/clip-vision/index.ts';
import { hfToOpenClipVision, tinyHfVision } from '../../../engine/models/clip-vision/synthetic.ts';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-clipvision-'));
const cfg = { width: 32, layers: 3, patch: 4, imageSize: 16, projection: 8, seed: 11 };
const hf = tinyHfVision(cfg);
const hfPath = path.join(dir, 'hf.safetensors');
const ocPath = path.join(dir, 'openclip.safetensors');
writeSafetensors(hfPath, hf);
writeSafetensors(ocPath, hfToOpenClipVision(hf, cfg.layers, 'embedder.model.'));

function pixels(seed: number): Float32Array {
  const a = new Float32Array(3 * 16 * 16);
  let s = seed;
  for (let i = 0; i < a.length; i++) { s = (s * 1103515245 + 12345) % 2 ** 31; a[i] = (s / 2 ** 31) * 4 - 2; }
  return a;
}

const W = (k: string) => hf[k]!.data as Float32Array;

/** Plain-JS reference of the tower (float64) on one image: [last, penultimate, embeds]. */
function reference(px: Float32Array): [number[][], number[][], number[]] {
  const C = 32, P = 4, G = 4, N = 17, H = 2, d = C / H;
  const conv = W('vision_model.embeddings.patch_embedding.weight');
  const pos = W('vision_model.embeddings.position_embedding.weight');
  const ln = (x: number[], k: string) => {
    const m = x.reduce((a, b) => a + b, 0) / x.length;
    const v = x.reduce((a, b) => a + (b - m) ** 2, 0) / x.length;
    return x.map((y, i) => ((y - m) / Math.sqrt(v + 1e-5)) * W(`${k}.weight`)[i]! + W(`${k}.bias`)[i]!);
  };
  const lin = (x: number[], k: string, out: number, bias = true) => Array.from({ length: out }, (_, o) => {
    let s = bias ? W(`${k}.bias`)[o]! : 0;
    for (let i = 0; i < x.length; i++) s += W(`${k}.weight`)[o * x.length + i]! * x[i]!;
    return s;
  });
  let x: number[][] = [Array.from(W('vision_model.embeddings.class_embedding'))];
  for (let gy = 0; gy < G; gy++) for (let gx = 0; gx < G; gx++) {
    x.push(Array.from({ length: C }, (_, o) => {
      let s = 0;
      for (let c = 0; c < 3; c++) for (let ky = 0; ky < P; ky++) for (let kx = 0; kx < P; kx++) s += conv[((o * 3 + c) * P + ky) * P + kx]! * px[(c * 16 + gy * P + ky) * 16 + gx * P + kx]!;
      return s;
    }));
  }
  x = x.map((r, t) => ln(r.map((v, i) => v + pos[t * C + i]!), 'vision_model.pre_layrnorm'));
  let pen: number[][] = [];
  for (let l = 0; l < 3; l++) {
    const p = `vision_model.encoder.layers.${l}`;
    const h = x.map((r) => ln(r, `${p}.layer_norm1`));
    const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((n) => h.map((r) => lin(r, `${p}.self_attn.${n}`, C)));
    const att = x.map((_, t) => {
      const o = new Array<number>(C).fill(0);
      for (let hh = 0; hh < H; hh++) {
        const sc = Array.from({ length: N }, (_, u) => { let s = 0; for (let j = 0; j < d; j++) s += q![t]![hh * d + j]! * k![u]![hh * d + j]!; return s / Math.sqrt(d); });
        const mx = Math.max(...sc), e = sc.map((s) => Math.exp(s - mx)), z = e.reduce((a, b) => a + b, 0);
        for (let u = 0; u < N; u++) for (let j = 0; j < d; j++) o[hh * d + j]! += (e[u]! / z) * v![u]![hh * d + j]!;
      }
      return lin(o, `${p}.self_attn.out_proj`, C);
    });
    x = x.map((r, t) => r.map((y, i) => y + att[t]![i]!));
    x = x.map((r) => {
      const m = lin(ln(r, `${p}.layer_norm2`), `${p}.mlp.fc1`, 4 * C).map((y) => y / (1 + Math.exp(-1.702 * y)));
      const o = lin(m, `${p}.mlp.fc2`, C);
      return r.map((y, i) => y + o[i]!);
    });
    if (l === 1) pen = x;
  }
  return [x, pen, lin(ln(x[0]!, 'vision_model.post_layernorm'), 'visual_projection', 8, false)];
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

test('spec: sizes come from shapes in both layouts; tiny widths get 16-wide heads; 24 layers → quick_gelu', () => {
  for (const p of [hfPath, ocPath]) {
    const f = SafetensorsFile.open(p);
    const s = clipVisionSpec(f);
    f.close();
    assert.deepEqual({ w: s.width, l: s.layers, h: s.heads, patch: s.patch, size: s.imageSize, pos: s.positions, proj: s.projectionDim, act: s.activation },
      { w: 32, l: 3, h: 2, patch: 4, size: 16, pos: 17, proj: 8, act: 'quick_gelu' });
  }
  const f = SafetensorsFile.open(ocPath);
  assert.equal(clipVisionSpec(f).prefix, 'embedder.model.');
  f.close();
});

test('tower: matches a plain-JS reference forward (last, penultimate = layer N−2, projected pooled CLS)', async () => {
  const m = ClipVisionModel.open(hfPath, { threads: 1 });
  const px = pixels(3);
  const out = await m.encodePixels(tensor([1, 3, 16, 16], px));
  const [last, pen, emb] = reference(px);
  assert.deepEqual(out.last_hidden_state.shape, [1, 17, 32]);
  assert.deepEqual(out.penultimate_hidden_states.shape, [1, 17, 32]);
  assert.deepEqual(out.image_embeds.shape, [1, 8]);
  assert.ok(maxDiff(out.last_hidden_state.data, last.flat()) < 1e-4, 'last_hidden_state');
  assert.ok(maxDiff(out.penultimate_hidden_states.data, pen.flat()) < 1e-4, 'penultimate');
  assert.ok(maxDiff(out.image_embeds.data, emb) < 1e-4, 'image_embeds');
  assert.equal(m.runsIn, 'in-thread');
  await m.release();
});

test('tower: OpenCLIP visual.* layout gives the same outputs as the transformers layout for the same weights', async () => {
  const a = ClipVisionModel.open(hfPath, { threads: 1 });
  const b = ClipVisionModel.open(ocPath, { threads: 1 });
  const px = tensor([2, 3, 16, 16], [...pixels(5), ...pixels(9)]);
  const [x, y] = [await a.encodePixels(px), await b.encodePixels(px)];
  for (const k of ['last_hidden_state', 'penultimate_hidden_states', 'image_embeds'] as const) {
    assert.deepEqual(x[k].shape, y[k].shape);
    assert.ok(maxDiff(x[k].data, y[k].data) < 1e-5, k);
  }
  // batch items are independent: item 1 of the batch equals running it alone
  const solo = await a.encodePixels(tensor([1, 3, 16, 16], pixels(9)));
  assert.ok(maxDiff(solo.image_embeds.data, x.image_embeds.data.subarray(8)) < 1e-5);
  await a.release();
  await b.release();
});

test('tower: metadata config decides heads and activation; bad pixel shapes are refused by name', async () => {
  const p = path.join(dir, 'meta.safetensors');
  writeSafetensors(p, hf as Record<string, TensorToWrite>, { weft_config: JSON.stringify({ num_attention_heads: 4, hidden_act: 'gelu' }) });
  const m = ClipVisionModel.open(p, { threads: 1 });
  assert.equal(m.spec.heads, 4);
  assert.equal(m.spec.activation, 'gelu');
  const base = ClipVisionModel.open(hfPath, { threads: 1 });
  const px = tensor([1, 3, 16, 16], pixels(1));
  assert.ok(maxDiff((await m.encodePixels(px)).image_embeds.data, (await base.encodePixels(px)).image_embeds.data) > 1e-4);
  await assert.rejects(m.encodePixels(tensor([1, 3, 8, 8])), /pixel_values \[batch, 3, 16, 16\]/);
  await m.release();
  await base.release();
});

test('open: a file without a vision tower is refused naming the file', () => {
  const p = path.join(dir, 'none.safetensors');
  writeSafetensors(p, { 'foo.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
  assert.throws(() => ClipVisionModel.open(p), (e: Error) => e.message.includes(p) && /no CLIP vision tower/.test(e.message));
});
