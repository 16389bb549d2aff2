import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import type { EngineServices, NodeContext } from '../../../engine/graph/context.ts';
import { StyleModel, applyStyle } from '../../../engine/models/style/index.ts';
import type { ClipVisionOutput } from '../../../engine/models/clip-vision/model.ts';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import StyleModelLoader from '../../../nodes/loaders/StyleModelLoader.ts';
import StyleModelApply from '../../../nodes/conditioning/StyleModelApply.ts';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-style-'));
const models: StyleModel[] = [];
after(async () => {
  for (const m of models) await m.release();
  fs.rmSync(base, { recursive: true, force: true });
});
for (const d of ['models/style_models', 'input', 'output', 'temp', 'cache']) fs.mkdirSync(path.join(base, d), { recursive: true });

let seed = 17;
function rand(n: number, scale = 1): Float32Array {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; d[i] = ((seed / 2 ** 32) * 2 - 1) * scale; }
  return d;
}

// A tiny coadapter-style StyleAdapter: width 16 (8 heads of 2, ComfyUI's fixed head count), 3 style tokens, 2 layers, context 12.
const [W, N, LAYERS, CTX, HEADS] = [16, 3, 2, 12, 8];
const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
const put = (k: string, shape: number[], scale: number, offset = 0): void => {
  weights[k] = { shape, data: rand(shape.reduce((a, b) => a * b, 1), scale).map((v) => v + offset) };
};
put('style_embedding', [1, N, W], 1);
for (const ln of ['ln_pre', 'ln_post']) { put(`${ln}.weight`, [W], 0.2, 1); put(`${ln}.bias`, [W], 0.1); }
for (let i = 0; i < LAYERS; i++) {
  const p = `transformer_layes.${i}`;
  put(`${p}.attn.in_proj_weight`, [3 * W, W], 0.4); put(`${p}.attn.in_proj_bias`, [3 * W], 0.1);
  put(`${p}.attn.out_proj.weight`, [W, W], 0.3); put(`${p}.attn.out_proj.bias`, [W], 0.1);
  for (const ln of ['ln_1', 'ln_2']) { put(`${p}.${ln}.weight`, [W], 0.2, 1); put(`${p}.${ln}.bias`, [W], 0.1); }
  put(`${p}.mlp.c_fc.weight`, [4 * W, W], 0.3); put(`${p}.mlp.c_fc.bias`, [4 * W], 0.1);
  put(`${p}.mlp.c_proj.weight`, [W, 4 * W], 0.2); put(`${p}.mlp.c_proj.bias`, [W], 0.1);
}
put('proj', [W, CTX], 0.25);
const toWrite = (w: typeof weights): Record<string, TensorToWrite> => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, { dtype: 'F32', ...v }]));
const stylePath = path.join(base, 'models/style_models/tiny_style.safetensors');
writeSafetensors(stylePath, toWrite(weights));

// ---- float64 reference of StyleAdapter.forward (comfy/t2i_adapter/adapter.py), written with plain loops ----
type M = number[][];
const rows = (t: Float32Array, r: number, c: number, off = 0): M => Array.from({ length: r }, (_, i) => Array.from(t.subarray(off + i * c, off + (i + 1) * c)));
const w = (k: string): Float32Array => weights[k]!.data;
const ln = (x: M, k: string): M => x.map((r) => {
  const mu = r.reduce((a, b) => a + b, 0) / r.length;
  const v = r.reduce((a, b) => a + (b - mu) ** 2, 0) / r.length;
  return r.map((e, j) => ((e - mu) / Math.sqrt(v + 1e-5)) * w(`${k}.weight`)[j]! + w(`${k}.bias`)[j]!);
});
/** x·Wᵀ + b with W [out, in] taken from rows [r0, r0+out). */
const lin = (x: M, wt: Float32Array, b: Float32Array | undefined, out: number, r0 = 0): M => x.map((r) => Array.from({ length: out }, (_, o) => r.reduce((a, e, j) => a + e * wt[(r0 + o) * r.length + j]!, b ? b[r0 + o]! : 0)));
function referenceAdapter(tokens: M): M {
  let x = ln([...tokens, ...rows(w('style_embedding'), N, W)], 'ln_pre');
  for (let i = 0; i < LAYERS; i++) {
    const p = `transformer_layes.${i}`;
    const h = ln(x, `${p}.ln_1`);
    const [q, k, v] = [0, 1, 2].map((j) => lin(h, w(`${p}.attn.in_proj_weight`), w(`${p}.attn.in_proj_bias`), W, j * W));
    const d = W / HEADS;
    const att = h.map(() => new Array<number>(W).fill(0));
    for (let hd = 0; hd < HEADS; hd++) for (let a = 0; a < h.length; a++) {
      const s = k.map((kr) => kr.slice(hd * d, (hd + 1) * d).reduce((acc, e, j) => acc + e * q[a]![hd * d + j]!, 0) / Math.sqrt(d));
      const m = Math.max(...s);
      const e = s.map((z) => Math.exp(z - m));
      const z = e.reduce((A, B) => A + B, 0);
      for (let j = 0; j < d; j++) att[a]![hd * d + j] = e.reduce((acc, pe, b) => acc + (pe / z) * v[b]![hd * d + j]!, 0);
    }
    x = x.map((r, a) => r.map((e, j) => e + lin([att[a]!], w(`${p}.attn.out_proj.weight`), w(`${p}.attn.out_proj.bias`), W)[0]![j]!));
    const f = lin(ln(x, `${p}.ln_2`), w(`${p}.mlp.c_fc.weight`), w(`${p}.mlp.c_fc.bias`), 4 * W).map((r) => r.map((e) => e / (1 + Math.exp(-1.702 * e))));
    const m = lin(f, w(`${p}.mlp.c_proj.weight`), w(`${p}.mlp.c_proj.bias`), W);
    x = x.map((r, a) => r.map((e, j) => e + m[a]![j]!));
  }
  return ln(x.slice(-N), 'ln_post').map((r) => Array.from({ length: CTX }, (_, o) => r.reduce((a, e, j) => a + e * w('proj')[j * CTX + o]!, 0)));
}

const vision = (b: number, l: number, width = W): ClipVisionOutput => {
  const t: Tensor = { shape: [b, l, width], data: rand(b * l * width) };
  return { last_hidden_state: t, penultimate_hidden_states: t, image_embeds: { shape: [b, 4], data: rand(b * 4) } };
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m; };

test('StyleAdapter: sizes from shapes, and the ORT graph matches a literal float64 forward pass per image', async () => {
  const m = StyleModel.open(stylePath);
  models.push(m);
  assert.deepEqual(m.spec, { kind: 'style_adapter', width: W, contextDim: CTX, tokens: N, layers: LAYERS, heads: HEADS });
  const out = vision(2, 5);
  const cond = await m.getCond(out);
  assert.deepEqual(cond.shape, [2, N, CTX]);
  for (let b = 0; b < 2; b++) {
    const ref = referenceAdapter(rows(out.last_hidden_state.data, 5, W, b * 5 * W)).flat();
    const got = cond.data.subarray(b * N * CTX, (b + 1) * N * CTX);
    assert.ok(maxDiff(got, ref) < 2e-4, `image ${b}: max diff ${maxDiff(got, ref)}`);
  }
  await assert.rejects(m.getCond(vision(1, 5, 8)), /takes 16-wide vision tokens, got \[1, 5, 8\]/);
});

test('FLUX Redux files: down(silu(up(tokens))) on every token', async () => {
  const p = path.join(base, 'models/style_models/tiny_redux.safetensors');
  const up = { shape: [10, 6], data: rand(60, 0.5) }, upB = { shape: [10], data: rand(10, 0.1) };
  const down = { shape: [7, 10], data: rand(70, 0.5) }, downB = { shape: [7], data: rand(7, 0.1) };
  writeSafetensors(p, toWrite({ 'redux_up.weight': up, 'redux_up.bias': upB, 'redux_down.weight': down, 'redux_down.bias': downB }));
  const m = StyleModel.open(p);
  models.push(m);
  assert.deepEqual(m.spec, { kind: 'redux', width: 6, contextDim: 7 });
  const out = vision(1, 4, 6);
  const got = await m.getCond(out);
  const h = lin(rows(out.last_hidden_state.data, 4, 6), up.data, upB.data, 10).map((r) => r.map((e) => e / (1 + Math.exp(-e))));
  assert.deepEqual(got.shape, [1, 4, 7]);
  assert.ok(maxDiff(got.data, lin(h, down.data, downB.data, 7).flat()) < 1e-5);
  const bad = path.join(base, 'models/style_models/bad.safetensors');
  writeSafetensors(bad, toWrite({ 'x.weight': up }));
  assert.throws(() => StyleModel.open(bad), /not a style model/);
});

const txt = (b: number, t: number, c = CTX): Tensor => ({ shape: [b, t, c], data: rand(b * t * c) });

test('applyStyle: B·N tokens appended to every entry; multiply scales them, attn_bias grows an additive mask instead', () => {
  const style: Tensor = { shape: [2, N, CTX], data: rand(2 * N * CTX) };
  const c: Conditioning = [[txt(1, 7), { pooled_output: txt(1, 1) }], [txt(2, 4), {}]];
  const [[t0, o0], [t1]] = applyStyle(c, style, 0.5, 'multiply');
  assert.deepEqual(t0.shape, [1, 7 + 2 * N, CTX]);
  assert.deepEqual(t1.shape, [2, 4 + 2 * N, CTX]);
  assert.deepEqual(t0.data.subarray(0, 7 * CTX), c[0]![0].data, 'text tokens unchanged');
  assert.deepEqual(Array.from(t0.data.subarray(7 * CTX)), Array.from(style.data).map((v) => Math.fround(v * 0.5)), 'style rows, image by image, times strength');
  assert.deepEqual(t1.data.subarray((2 * (4 + 2 * N) - 2 * N) * CTX), t0.data.subarray(7 * CTX), 'each batch row gets the same style tokens');
  assert.equal(o0.pooled_output, c[0]![1].pooled_output);
  assert.equal(o0.attention_mask, undefined, 'multiply adds no mask');

  const [[ta, oa]] = applyStyle(c, style, 1, 'attn_bias');
  assert.deepEqual(ta.data.subarray(7 * CTX), style.data, 'attn_bias leaves the tokens unscaled');
  assert.equal(oa.attention_mask, undefined, 'strength 1 needs no bias');

  const [[, ob]] = applyStyle(c, style, 0.25, 'attn_bias');
  const mask = ob.attention_mask as Tensor;
  const S = 7 + 2 * N + 1; // text, style tokens, one reference-image slot (attention_mask_img_shape (1, 1))
  assert.deepEqual(mask.shape, [1, S, S]);
  assert.deepEqual(ob.attention_mask_img_shape, [1, 1]);
  const at = (i: number, j: number): number => mask.data[i * S + j]!;
  const bias = -1.38671875; // log(0.25) = −1.386294… rounded to float16: 1420 steps of 2^−10
  for (const i of [0, 6, S - 1]) for (let j = 7; j < 7 + 2 * N; j++) assert.equal(at(i, j), bias);
  for (let j = 0; j < S; j++) assert.equal(at(8, j), 0, 'style rows carry no bias');
  assert.equal(at(0, 0), 0);
  assert.equal(at(0, S - 1), 0);

  // An existing mask grows even at strength 1: its quadrants move around the new columns.
  const old: Tensor = { shape: [1, 8, 8], data: Float32Array.from({ length: 64 }, (_, i) => -(i + 1)) };
  const [[, oc]] = applyStyle([[txt(1, 7), { attention_mask: old }]], style, 1, 'attn_bias');
  const m2 = oc.attention_mask as Tensor;
  assert.deepEqual(m2.shape, [1, S, S]);
  assert.equal(m2.data[0 * S + 3], -4);
  assert.equal(m2.data[2 * S + (S - 1)], -(2 * 8 + 7 + 1), 'text→image column moved past the style tokens');
  assert.equal(m2.data[(S - 1) * S + 1], -(7 * 8 + 1 + 1), 'image row moved too');
  assert.equal(m2.data[0 * S + 7], 0, 'log(1) towards the style tokens');
  const [[, od]] = applyStyle(c, style, 0, 'attn_bias');
  assert.equal((od.attention_mask as Tensor).data[7], -Infinity, 'strength 0 blocks the style tokens, like torch.log(0)');
});

test('StyleModelLoader + StyleModelApply nodes: the loaded adapter appends N tokens per image', async () => {
  const folders = createFolders({ modelsDir: path.join(base, 'models'), inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), tempDir: path.join(base, 'temp') });
  const ctx = { services: { folders, modelCacheDir: path.join(base, 'cache') } as EngineServices } as NodeContext;
  assert.ok(folders.listModels('style_models').includes('tiny_style.safetensors'));
  const [sm] = (await StyleModelLoader.run!({ style_model_name: 'tiny_style.safetensors' }, ctx)) as [StyleModel];
  models.push(sm);
  const c: Conditioning = [[txt(1, 5), {}]];
  const [out] = (await StyleModelApply.run!({ conditioning: c, style_model: sm, clip_vision_output: vision(1, 5), strength: 2, strength_type: 'multiply' }, ctx)) as [Conditioning];
  assert.deepEqual(out[0]![0].shape, [1, 5 + N, CTX]);
  await assert.rejects(async () => StyleModelApply.run!({ conditioning: c, style_model: {} as never, clip_vision_output: vision(1, 5), strength: 1, strength_type: 'multiply' }, ctx), /expected a STYLE_MODEL/);
});
