import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { CLIP_PREFIXES, clipSpec } from '../../../engine/models/clip/spec.ts';
import { CLIP_PRESETS, ClipTextEncoder, encodeSdxl, encodeTokenWeights, sdxlAdm, type TokenChunk } from '../../../engine/models/clip/encode.ts';
import { hfToOpenClip, tinyHfClip } from '../../../engine/models/clip/synthetic.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';
import { sinusoidalEmbedding } from '../../../engine/models/layers/index.ts';
import { maxDiff, rand, tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('clip');
const open: Array<{ close(): void; release?: () => Promise<void> }> = [];
after(async () => {
  for (const o of open) { await o.release?.(); o.close(); }
  fs.rmSync(dir, { recursive: true, force: true });
});

const HF = 'cond_stage_model.transformer.text_model';
const hf = tinyHfClip(HF, { width: 32, layers: 3, seed: 5 });
const proj = rand(32 * 24, 9, 0.2);
writeSafetensors(path.join(dir, 'hf.safetensors'), hf);
writeSafetensors(path.join(dir, 'oc.safetensors'), hfToOpenClip(hf, HF, 'cond_stage_model.model', 3, proj));
const hfFile = SafetensorsFile.open(path.join(dir, 'hf.safetensors'));
const ocFile = SafetensorsFile.open(path.join(dir, 'oc.safetensors'));
open.push(hfFile, ocFile);
const hfEnc = ClipTextEncoder.open(hfFile, HF, {}, { threads: 1 });
// Same activation as the HF tower so that only the layout code differs.
const ocEnc = ClipTextEncoder.open(ocFile, CLIP_PREFIXES.sd2, { activation: 'quick_gelu' }, { threads: 1 });
open.push({ close() {}, release: () => hfEnc.release() }, { close() {}, release: () => ocEnc.release() });

function chunk(words: number[], weights?: number[], pad = 49407): TokenChunk {
  const ids = [49406, ...words, 49407];
  while (ids.length < 77) ids.push(pad);
  const w = new Array<number>(77).fill(1);
  weights?.forEach((v, i) => (w[i + 1] = v));
  return { ids, weights: w };
}

test('spec: sizes come from shapes; layouts and activations are told apart', () => {
  const s = clipSpec(hfFile, HF);
  assert.equal(s.layout, 'hf'); assert.equal(s.width, 32); assert.equal(s.layers, 3); assert.equal(s.heads, 2); assert.equal(s.activation, 'quick_gelu');
  const o = clipSpec(ocFile, CLIP_PREFIXES.sd2);
  assert.equal(o.layout, 'openclip'); assert.equal(o.projection?.dim, 24); assert.equal(o.projection?.kind, 'matmul');
  assert.equal(clipSpec(ocFile, CLIP_PREFIXES.sd2, {}).activation, 'gelu');
  assert.throws(() => clipSpec(hfFile, 'nope'), /no CLIP text model under "nope"/);
});

test('OpenCLIP layout (fused in_proj split by byte ranges) equals the transformers layout on the same numbers', async () => {
  const ids = BigInt64Array.from(chunk([320, 1125, 539]).ids as number[], (v) => BigInt(v));
  for (const layer of [-1, -2, 0]) {
    const a = await hfEnc.run(ids, 1, null, { layer, finalNorm: layer === -1, project: false });
    const b = await ocEnc.run(ids, 1, null, { layer, finalNorm: layer === -1, project: false });
    assert.ok(maxDiff(a.hidden, b.hidden) < 1e-5, `layer ${layer}`);
    assert.ok(maxDiff(a.pooled, b.pooled) < 1e-5);
  }
  const p = await ocEnc.run(ids, 1, null, { layer: -1, finalNorm: true, project: true });
  const pooled = (await ocEnc.run(ids, 1, null, { layer: -1, finalNorm: true, project: false })).pooled;
  const ref = new Float32Array(24);
  for (let j = 0; j < 24; j++) for (let i = 0; i < 32; i++) ref[j] += pooled[i]! * proj[i * 24 + j]!;
  assert.ok(maxDiff(p.pooled, ref) < 1e-5, 'pooled @ text_projection');
});

test('pooled is the final-LN state at the FIRST EOS, and the mask is causal', async () => {
  const c = chunk([320, 1125]);
  const r = await hfEnc.run(BigInt64Array.from(c.ids as number[], BigInt), 1, null, { layer: -1, finalNorm: true, project: false });
  assert.ok(maxDiff(r.pooled, r.hidden.subarray(3 * 32, 4 * 32)) === 0);
  // changing a later token leaves earlier positions untouched
  const c2 = chunk([320, 999]);
  const r2 = await hfEnc.run(BigInt64Array.from(c2.ids as number[], BigInt), 1, null, { layer: -1, finalNorm: true, project: false });
  assert.equal(maxDiff(r.hidden.subarray(0, 2 * 32), r2.hidden.subarray(0, 2 * 32)), 0);
  assert.ok(maxDiff(r.hidden.subarray(2 * 32, 3 * 32), r2.hidden.subarray(2 * 32, 3 * 32)) > 1e-3);
});

test('token weights: weight 1 equals unweighted; weight w gives (z − z_empty)·w + z_empty', async () => {
  const plain = await encodeTokenWeights(hfEnc, [chunk([320, 1125, 539])], CLIP_PRESETS.sd1);
  const ones = await encodeTokenWeights(hfEnc, [chunk([320, 1125, 539], [1, 1, 1])], CLIP_PRESETS.sd1);
  assert.equal(maxDiff(plain.cond, ones.cond), 0);
  const w = await encodeTokenWeights(hfEnc, [chunk([320, 1125, 539], [1, 1.5, 1])], CLIP_PRESETS.sd1);
  const empty = await encodeTokenWeights(hfEnc, [chunk([])], CLIP_PRESETS.sd1);
  const C = 32;
  for (let d = 0; d < C; d++) {
    const j = 2;
    const expect = (plain.cond[j * C + d]! - empty.cond[j * C + d]!) * 1.5 + empty.cond[j * C + d]!;
    assert.ok(Math.abs(w.cond[j * C + d]! - expect) < 1e-5);
  }
  assert.equal(maxDiff(w.cond.subarray(0, 2 * C), plain.cond.subarray(0, 2 * C)), 0, 'weight-1 tokens untouched');
  assert.equal(maxDiff(w.pooled, plain.pooled), 0, 'pooled is not weighted');
});

test('chunks: encoded as a batch, concatenated on the token axis, pooled from the first chunk', async () => {
  const a = chunk([320, 1125]), b = chunk([539, 640, 77]);
  const both = await encodeTokenWeights(hfEnc, [a, b], CLIP_PRESETS.sd1);
  const ra = await encodeTokenWeights(hfEnc, [a], CLIP_PRESETS.sd1);
  const rb = await encodeTokenWeights(hfEnc, [b], CLIP_PRESETS.sd1);
  assert.equal(both.tokens, 154);
  assert.ok(maxDiff(both.cond.subarray(0, 77 * 32), ra.cond) < 1e-6);
  assert.ok(maxDiff(both.cond.subarray(77 * 32), rb.cond) < 1e-6);
  assert.ok(maxDiff(both.pooled, ra.pooled) < 1e-6);
});

test('textual inversion: an extra row equal to a vocabulary row encodes like that token', async () => {
  const table = hf[`${HF}.embeddings.token_embedding.weight`]!.data as Float32Array;
  const extra = Float32Array.from(table.subarray(1125 * 32, 1126 * 32));
  const viaVocab = await encodeTokenWeights(hfEnc, [chunk([320, 1125])], CLIP_PRESETS.sd1);
  const viaExtra = await encodeTokenWeights(hfEnc, [chunk([320, 49408])], CLIP_PRESETS.sd1, extra);
  assert.equal(maxDiff(viaVocab.cond, viaExtra.cond), 0);
  await assert.rejects(encodeTokenWeights(hfEnc, [chunk([49409])], CLIP_PRESETS.sd1, extra), /outside the vocabulary/);
});

test('fixture checkpoints: SD1, SD2 and SDXL towers build and run; SDXL concatenates l and g', async () => {
  for (const family of ['sd1', 'sd2', 'sdxl'] as const) {
    const p = path.join(dir, `${family}.safetensors`);
    writeSdCheckpoint(p, { family, dtype: family === 'sd1' ? 'F32' : 'F16', seed: 3 });
    const f = SafetensorsFile.open(p);
    open.push(f);
    if (family === 'sdxl') {
      const l = ClipTextEncoder.open(f, CLIP_PREFIXES.sdxl_l, {}, { threads: 1 }), g = ClipTextEncoder.open(f, CLIP_PREFIXES.sdxl_g, {}, { threads: 1 });
      const r = await encodeSdxl(l, g, [chunk([320])], [chunk([320], undefined, 0)]);
      assert.equal(r.width, l.spec.width + g.spec.width);
      assert.equal(r.pooled.length, g.spec.projection!.dim);
      assert.ok(r.cond.every(Number.isFinite));
      await l.release(); await g.release();
    } else {
      const e = ClipTextEncoder.open(f, family === 'sd1' ? CLIP_PREFIXES.sd1 : CLIP_PREFIXES.sd2, {}, { threads: 1 });
      const r = await encodeTokenWeights(e, [chunk([320, 1125], [1.2, 0.8])], family === 'sd1' ? CLIP_PRESETS.sd1 : CLIP_PRESETS.sd2);
      assert.equal(r.cond.length, 77 * e.spec.width);
      assert.ok(r.cond.every(Number.isFinite));
      await e.release();
    }
  }
});

test('SDXL ADM vector: pooled then six 256-d size embeddings, height before width', () => {
  const pooled = Float32Array.of(1, 2, 3);
  const y = sdxlAdm(pooled, { width: 832, height: 1216, cropW: 0, cropH: 16, targetWidth: 832, targetHeight: 1216 });
  assert.equal(y.length, 3 + 1536);
  assert.deepEqual([...y.subarray(0, 3)], [1, 2, 3]);
  assert.deepEqual([...y.subarray(3, 259)], [...sinusoidalEmbedding(1216)]);
  assert.deepEqual([...y.subarray(259, 515)], [...sinusoidalEmbedding(832)]);
  assert.deepEqual([...y.subarray(515, 771)], [...sinusoidalEmbedding(16)]);
  const e0 = sinusoidalEmbedding(0);
  assert.deepEqual([...e0.subarray(0, 128)], new Array(128).fill(1));
});

const CONF = path.resolve(import.meta.dirname, '../../../../shared/conformance');
test('conformance vectors: SD1 prompts with weights, chunks, clip skip and an embedding', { skip: !fs.existsSync(CONF) && 'no ../shared/conformance' }, async () => {
  const ck = SafetensorsFile.open(path.join(CONF, 'models/tiny_sd15.safetensors'));
  open.push(ck);
  const enc = ClipTextEncoder.open(ck, CLIP_PREFIXES.sd1, {}, { threads: 1 });
  for (const name of ['clip_prompt_3', 'clip_prompt_4', 'clip_prompt_5']) {
    const v = SafetensorsFile.open(path.join(CONF, `vectors/${name}.safetensors`));
    const ids = v.readBigInt64('input.token_ids'), w = v.readFloat32('input.token_weights');
    const n = ids.length / 77;
    const chunks = Array.from({ length: n }, (_, i) => ({ ids: ids.subarray(i * 77, (i + 1) * 77), weights: w.subarray(i * 77, (i + 1) * 77) }));
    const extra = v.has('input.embedding_vectors') ? v.readFloat32('input.embedding_vectors') : null;
    for (const [layer, key] of [[-1, 'last'], [-2, 'clipskip2']] as const) {
      const r = await encodeTokenWeights(enc, chunks, { ...CLIP_PRESETS.sd1, layer }, extra);
      const ec = v.readFloat32(`expected.cond_${key}`), ep = v.readFloat32(`expected.pooled_${key}`);
      assert.ok(maxDiff(r.cond, ec) < 1e-5 + 1e-4 * 4.5, `${name} cond_${key}`);
      assert.ok(maxDiff(r.pooled, ep) < 1e-5 + 1e-4 * 4, `${name} pooled_${key}`);
    }
    v.close();
  }
  await enc.release();
});
