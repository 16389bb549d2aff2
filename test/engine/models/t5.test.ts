import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { f16ToF32, f32ToF16, SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { sessionFor, runFloat } from '../../../engine/onnx/index.ts';
import { buildT5EncoderGraph } from '../../../engine/models/t5/graph.ts';
import { T5Encoder } from '../../../engine/models/t5/encoder.ts';
import { encodeT5Prompt } from '../../../engine/models/t5/prompt.ts';
import { relativePositionBucket, t5Spec } from '../../../engine/models/t5/spec.ts';
import { T5Tokenizer } from '../../../engine/models/t5/tokenizer.ts';
import { maxDiff, rand, tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('t5');
const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of closers) await c();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Tiny { d: number; heads: number; dkv: number; ff: number; layers: number; vocab: number; buckets: number; gated: boolean }

/** Random T5 weights with real key names; values are returned too (after the storage dtype's rounding). */
function tinyT5(c: Tiny, dtype: 'F32' | 'F16', seed: number): { tensors: Record<string, TensorToWrite>; w: Map<string, Float32Array> } {
  const tensors: Record<string, TensorToWrite> = {};
  const w = new Map<string, Float32Array>();
  let s = seed;
  const add = (key: string, shape: number[], scale: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = rand(n, s++, scale).map((x) => x + mean);
    if (dtype === 'F16') {
      const h = Uint16Array.from(v, (x) => f32ToF16(x));
      tensors[key] = { dtype: 'F16', shape, data: h };
      w.set(key, Float32Array.from(h, (x) => f16ToF32(x)));
    } else {
      tensors[key] = { dtype: 'F32', shape, data: v };
      w.set(key, v);
    }
  };
  add('shared.weight', [c.vocab, c.d], 1);
  const inner = c.heads * c.dkv;
  for (let i = 0; i < c.layers; i++) {
    const a = `encoder.block.${i}.layer.0.SelfAttention`;
    for (const n of ['q', 'k', 'v']) add(`${a}.${n}.weight`, [inner, c.d], 0.5);
    add(`${a}.o.weight`, [c.d, inner], 0.5);
    if (i === 0) add(`${a}.relative_attention_bias.weight`, [c.buckets, c.heads], 1);
    add(`encoder.block.${i}.layer.0.layer_norm.weight`, [c.d], 0.2, 1);
    const f = `encoder.block.${i}.layer.1.DenseReluDense`;
    if (c.gated) { add(`${f}.wi_0.weight`, [c.ff, c.d], 0.5); add(`${f}.wi_1.weight`, [c.ff, c.d], 0.5); } else add(`${f}.wi.weight`, [c.ff, c.d], 0.5);
    add(`${f}.wo.weight`, [c.d, c.ff], 0.3);
    add(`encoder.block.${i}.layer.1.layer_norm.weight`, [c.d], 0.2, 1);
  }
  add('encoder.final_layer_norm.weight', [c.d], 0.2, 1);
  return { tensors, w };
}

/** Plain float64 T5 encoder forward (HF T5EncoderModel semantics) on one sequence. */
function referenceT5(w: Map<string, Float32Array>, c: Tiny, ids: number[]): Float64Array {
  const L = ids.length, D = c.d, H = c.heads, K = c.dkv, I = H * K;
  const W = (k: string) => w.get(k)!;
  const lin = (x: Float64Array, wt: Float32Array, inF: number, outF: number) => {
    const y = new Float64Array((x.length / inF) * outF);
    for (let r = 0; r < x.length / inF; r++) for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * wt[o * inF + i]!;
      y[r * outF + o] = s;
    }
    return y;
  };
  const rms = (x: Float64Array, g: Float32Array) => {
    const y = new Float64Array(x.length);
    for (let r = 0; r < L; r++) {
      let ms = 0;
      for (let d = 0; d < D; d++) ms += x[r * D + d]! ** 2;
      const inv = 1 / Math.sqrt(ms / D + 1e-6);
      for (let d = 0; d < D; d++) y[r * D + d] = x[r * D + d]! * inv * g[d]!;
    }
    return y;
  };
  const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const table = W('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  let x = new Float64Array(L * D);
  ids.forEach((id, t) => { for (let d = 0; d < D; d++) x[t * D + d] = W('shared.weight')[id * D + d]!; });
  for (let l = 0; l < c.layers; l++) {
    const a = `encoder.block.${l}.layer.0.SelfAttention`;
    const h = rms(x, W(`encoder.block.${l}.layer.0.layer_norm.weight`));
    const q = lin(h, W(`${a}.q.weight`), D, I), k = lin(h, W(`${a}.k.weight`), D, I), v = lin(h, W(`${a}.v.weight`), D, I);
    const att = new Float64Array(L * I);
    for (let hd = 0; hd < H; hd++) for (let i = 0; i < L; i++) {
      const sc = new Float64Array(L);
      for (let j = 0; j < L; j++) {
        let s = 0;
        for (let e = 0; e < K; e++) s += q[i * I + hd * K + e]! * k[j * I + hd * K + e]!;
        sc[j] = s + table[relativePositionBucket(j - i, c.buckets, 128) * H + hd]!;
      }
      const m = Math.max(...sc);
      let z = 0;
      for (let j = 0; j < L; j++) z += (sc[j] = Math.exp(sc[j]! - m));
      for (let e = 0; e < K; e++) { let s = 0; for (let j = 0; j < L; j++) s += (sc[j]! / z) * v[j * I + hd * K + e]!; att[i * I + hd * K + e] = s; }
    }
    const o = lin(att, W(`${a}.o.weight`), I, D);
    x = x.map((val, i) => val + o[i]!);
    const f = `encoder.block.${l}.layer.1.DenseReluDense`;
    const h2 = rms(x, W(`encoder.block.${l}.layer.1.layer_norm.weight`));
    const inner = c.gated
      ? lin(h2, W(`${f}.wi_0.weight`), D, c.ff).map((g, i) => geluTanh(g) * lin(h2, W(`${f}.wi_1.weight`), D, c.ff)[i]!)
      : lin(h2, W(`${f}.wi.weight`), D, c.ff).map((g) => Math.max(0, g));
    const y = lin(inner, W(`${f}.wo.weight`), c.ff, D);
    x = x.map((val, i) => val + y[i]!);
  }
  return rms(x, W('encoder.final_layer_norm.weight'));
}

test('relative position buckets: exact below 8, log-spaced to 128, ±direction halves (hand-computed)', () => {
  // 32 buckets, max_distance 128: half = 16 per direction, maxExact = 8; large n → 8 + trunc(log(n/8)/log(16)·8).
  const cases: Array<[number, number]> = [
    [0, 0], [-1, 1], [-7, 7], [1, 17], [7, 23],
    [-8, 8], // log(1) = 0
    [-15, 9], // log(15/8)/log(16)·8 = 1.81
    [-16, 10], // exactly 2.0: float32 log(2)/log(16) = 0.25 exactly, so no truncation to 1
    [-31, 11], [-32, 12], [-63, 13], [-64, 14], [-127, 15], [-128, 15], [-5000, 15],
    [16, 26], [64, 30], [128, 31], [5000, 31],
  ];
  for (const [rel, want] of cases) assert.equal(relativePositionBucket(rel, 32, 128), want, `rel ${rel}`);
});

for (const [name, cfg, dtype] of [
  ['gated-GELU (v1.1), fp32', { d: 16, heads: 2, dkv: 6, ff: 24, layers: 2, vocab: 50, buckets: 32, gated: true }, 'F32'],
  ['ReLU (original T5), fp16 weights', { d: 8, heads: 3, dkv: 4, ff: 16, layers: 1, vocab: 40, buckets: 16, gated: false }, 'F16'],
] as const) {
  test(`T5 graph matches a float64 reference forward: ${name}`, async () => {
    const { tensors, w } = tinyT5(cfg, dtype, cfg.d);
    const p = path.join(dir, `t5-${cfg.d}.safetensors`);
    writeSafetensors(p, tensors);
    const file = SafetensorsFile.open(p);
    closers.push(() => file.close());
    const spec = t5Spec(file);
    assert.deepEqual([spec.dModel, spec.numHeads, spec.dKv, spec.dFf, spec.numLayers, spec.vocabSize, spec.numBuckets, spec.gated], [cfg.d, cfg.heads, cfg.dkv, cfg.ff, cfg.layers, cfg.vocab, cfg.buckets, cfg.gated]);
    const s = await sessionFor(buildT5EncoderGraph(file, spec, { exposeBias: true }), { threads: 1 });
    closers.push(() => s.release());
    // 40 tokens: relative distances up to 39 reach the logarithmic buckets.
    const ids = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % cfg.vocab);
    const r = await runFloat(s, { input_ids: { data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] } });
    const want = referenceT5(w, cfg, ids);
    const got = r.last_hidden_state!;
    assert.deepEqual(got.dims, [1, ids.length, cfg.d]);
    assert.ok(maxDiff(got.data, want) < 2e-4, `max diff ${maxDiff(got.data, want)}`);
    const bias = r.position_bias!;
    assert.deepEqual(bias.dims, [1, cfg.heads, ids.length, ids.length]);
    const table = w.get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')!;
    assert.equal(bias.data[(1 * ids.length + 2) * ids.length + 39], table[relativePositionBucket(37, cfg.buckets, 128) * cfg.heads + 1]);
  });
}

test('T5Encoder: batches rows independently, rejects ids outside the vocabulary, names a missing tensor', async () => {
  const cfg = { d: 8, heads: 2, dkv: 4, ff: 16, layers: 1, vocab: 30, buckets: 32, gated: true };
  const { tensors } = tinyT5(cfg, 'F32', 5);
  const p = path.join(dir, 'enc.safetensors');
  writeSafetensors(p, tensors);
  const file = SafetensorsFile.open(p);
  const enc = T5Encoder.open(file, undefined, { threads: 1 });
  closers.push(() => enc.release(), () => file.close());
  const a = [4, 5, 6, 1], b = [7, 8, 1, 0];
  const both = await enc.encode([...a, ...b], 2);
  assert.deepEqual(both.shape, [2, 4, 8]);
  assert.ok(maxDiff(both.data.subarray(32), (await enc.encode(b)).data) < 1e-6);
  await assert.rejects(enc.encode([3, 30]), /outside the vocabulary of 30/);
  const broken = { ...tensors };
  delete broken['encoder.final_layer_norm.weight'];
  const bp = path.join(dir, 'broken.safetensors');
  writeSafetensors(bp, broken);
  const bf = SafetensorsFile.open(bp);
  closers.push(() => bf.close());
  assert.throws(() => t5Spec(bf), /encoder\.final_layer_norm\.weight/);
});

test('prompt weights: z = (z − z_empty)·w + z_empty on weighted tokens only', async () => {
  const cfg = { d: 8, heads: 2, dkv: 4, ff: 16, layers: 1, vocab: 32, buckets: 32, gated: true };
  const { tensors } = tinyT5(cfg, 'F32', 9);
  const p = path.join(dir, 'weights.safetensors');
  writeSafetensors(p, tensors);
  const file = SafetensorsFile.open(p);
  const enc = T5Encoder.open(file, undefined, { threads: 1 });
  closers.push(() => enc.release(), () => file.close());
  const tok = new T5Tokenizer({ pieces: [{ piece: '<pad>', score: 0 }, { piece: '</s>', score: 0 }, { piece: '<unk>', score: 0 }], unkId: 2, added: [], charsmap: null, stripRight: true, collapseSpaces: true, prepend: 'first', eosId: 1, padId: 0 });
  const ids = [5, 6, 1, 0, 0, 0];
  const weights = [1.5, 1, 1, 1, 1, 1];
  const z = (await enc.encode(ids)).data, ze = (await enc.encode([1, 0, 0, 0, 0, 0])).data;
  const got = (await encodeT5Prompt(enc, tok, { ids, weights })).data;
  for (let d = 0; d < 8; d++) assert.ok(Math.abs(got[d]! - ((z[d]! - ze[d]!) * 1.5 + ze[d]!)) < 1e-5);
  assert.ok(maxDiff(got.subarray(8), z.subarray(8)) < 1e-5);
  assert.ok(Math.abs(got[0]! - z[0]!) > 1e-4, 'the weight changed the first token');
});

const conf = path.resolve(import.meta.dirname, '../../../../shared/conformance');
test('conformance flux_t5_raw_short: position bias equals the recorded aux.position_bias', { skip: !fs.existsSync(path.join(conf, 'vectors/flux_t5_raw_short.safetensors')) }, async () => {
  const vec = SafetensorsFile.open(path.join(conf, 'vectors/flux_t5_raw_short.safetensors'));
  const model = SafetensorsFile.open(path.join(conf, 'models/clip/tiny_t5xxl.safetensors'));
  closers.push(() => vec.close(), () => model.close());
  const s = await sessionFor(buildT5EncoderGraph(model, t5Spec(model), { exposeBias: true }), { threads: 1 });
  closers.push(() => s.release());
  const ids = vec.readBigInt64('input.token_ids');
  const r = await runFloat(s, { input_ids: { data: ids, dims: [1, ids.length] } });
  assert.equal(maxDiff(r.position_bias!.data, vec.readFloat32('aux.position_bias')), 0);
  assert.ok(maxDiff(r.last_hidden_state!.data, vec.readFloat32('expected.last_hidden_state')) < 1e-4);
});
