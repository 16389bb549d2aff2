/**
 * The text encoders' session plumbing: CLIP (plain and LoRA-patched) and T5 run in ModelService workers
 * when given a service (or when a process default is set), with results bit-identical to the in-thread
 * sessions; sessions are keyed by graph content, shared between encoder instances, evicted under the
 * budget and loaded again on the next run. Real files, real ORT sessions, real worker threads.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { Rng, writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';
import { writeLora } from '../../../engine/models/fixtures/extras.ts';
import { CLIP_PRESETS, ClipTextEncoder, encodeTokenWeights, type TokenChunk } from '../../../engine/models/clip/encode.ts';
import { ClipModel, releaseClipEncoders } from '../../../engine/models/clip/model.ts';
import { CLIP_PREFIXES } from '../../../engine/models/clip/spec.ts';
import { loraClipEncoder, loraClipPatch, releaseLoraClipEncoders } from '../../../engine/models/lora/patches.ts';
import { T5Encoder } from '../../../engine/models/t5/encoder.ts';
import { ModelService, defaultModelService, setDefaultModelService } from '../../../engine/runtime/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-resp-enc-'));
const ckpt = join(dir, 'sd1.safetensors');
const lora = join(dir, 'lora.safetensors');
const t5path = join(dir, 't5.safetensors');
writeSdCheckpoint(ckpt, { family: 'sd1', seed: 7 });
writeLora(lora, { family: 'sd1' }, { seed: 8 });
const ckFile = SafetensorsFile.open(ckpt);
const services: ModelService[] = [];
const service = (o: ConstructorParameters<typeof ModelService>[0] = {}): ModelService => {
  const s = new ModelService({ threads: 1, ep: 'cpu', ...o });
  services.push(s);
  return s;
};
after(async () => {
  for (const s of services) await s.close();
  await releaseClipEncoders();
  await releaseLoraClipEncoders();
  ckFile.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A two-chunk prompt with weights, so the empty-prompt row and the reweighting run too. */
function chunks(): TokenChunk[] {
  const ids = (seed: number) => [49406, ...Array.from({ length: 75 }, (_, i) => (i < 9 ? 300 + seed * 37 + i * 101 : 49407)), 49407];
  return [0, 1].map((k) => ({ ids: ids(k), weights: Array.from({ length: 77 }, (_, i) => (i === 3 ? 1.3 : i === 5 ? 0.8 : 1)) }));
}

/** Random T5 v1.1 layout (gated FF) with a vocabulary large enough to weigh on the budget (~5 MB). */
function writeTinyT5(path: string): void {
  const rng = new Rng(5);
  const t: Record<string, TensorToWrite> = {};
  const add = (k: string, shape: number[], std: number, mean = 0) => { t[k] = { dtype: 'F32', shape, data: rng.fill(shape.reduce((a, b) => a * b, 1), std, mean) }; };
  const d = 32, inner = 32, ff = 64;
  add('shared.weight', [40000, d], 1);
  for (let i = 0; i < 2; i++) {
    const a = `encoder.block.${i}.layer.0.SelfAttention`;
    for (const n of ['q', 'k', 'v']) add(`${a}.${n}.weight`, [inner, d], 0.3);
    add(`${a}.o.weight`, [d, inner], 0.3);
    if (i === 0) add(`${a}.relative_attention_bias.weight`, [32, 4], 1);
    add(`encoder.block.${i}.layer.0.layer_norm.weight`, [d], 0.1, 1);
    const f = `encoder.block.${i}.layer.1.DenseReluDense`;
    add(`${f}.wi_0.weight`, [ff, d], 0.3); add(`${f}.wi_1.weight`, [ff, d], 0.3); add(`${f}.wo.weight`, [d, ff], 0.2);
    add(`encoder.block.${i}.layer.1.layer_norm.weight`, [d], 0.1, 1);
  }
  add('encoder.final_layer_norm.weight', [d], 0.1, 1);
  writeSafetensors(path, t);
}

test('CLIP through the service equals the in-thread session bit for bit; sessions are keyed by content and shared', async () => {
  const svc = service();
  const viaService = ClipTextEncoder.open(ckFile, CLIP_PREFIXES.sd1, {}, { models: svc });
  const inThread = ClipTextEncoder.open(ckFile, CLIP_PREFIXES.sd1, {}, { models: null });
  for (const layer of [-1, -2]) {
    const o = { ...CLIP_PRESETS.sd1, layer };
    const a = await encodeTokenWeights(viaService, chunks(), o);
    const b = await encodeTokenWeights(inThread, chunks(), o);
    assert.equal(a.cond.length, 2 * 77 * 32);
    assert.deepEqual(a.cond, b.cond, `layer ${layer}: hidden states differ`);
    assert.deepEqual(a.pooled, b.pooled, `layer ${layer}: pooled output differs`);
  }
  const keys = svc.loadedKeys();
  assert.equal(keys.length, 2, `one worker session per output variant: ${keys.join(', ')}`);
  assert.ok(keys.every((k) => k.startsWith('clip-text|')));
  // Another encoder over the same weights reuses the loaded worker sessions instead of opening new ones.
  const again = ClipTextEncoder.open(SafetensorsFile.open(ckpt), CLIP_PREFIXES.sd1, {}, { models: svc });
  await encodeTokenWeights(again, chunks(), CLIP_PRESETS.sd1);
  assert.deepEqual(svc.loadedKeys(), keys);
  // The budget counts the tower's weights (49408×32 token table alone is 6.3 MB), not the graph's bytes.
  assert.ok(svc.usedBytes() > 2 * 6_000_000, `used ${svc.usedBytes()} bytes`);
  await again.release();
  assert.equal(svc.loadedKeys().length, 1, 'release unloads the shared sessions it used');
  again.file.close();
  await viaService.release();
  await inThread.release();
});

test('a LoRA-patched CLIP encoder inherits the service and matches its in-thread twin', async () => {
  const svc = service();
  const patch = loraClipPatch({ path: lora, strength: 0.9 }, join(dir, 'cache'));
  const base = { path: ckpt, prefix: CLIP_PREFIXES.sd1, role: 'l' as const };
  const encW = ClipTextEncoder.open(SafetensorsFile.open(ckpt), CLIP_PREFIXES.sd1, {}, { models: svc });
  const patchedW = loraClipEncoder({ ...base, encoder: encW }, ['l'], [patch], encW.sessionOptions);
  assert.notEqual(patchedW, encW, 'the patch applies');
  const w = await encodeTokenWeights(patchedW, chunks(), CLIP_PRESETS.sd1);
  assert.ok(svc.loadedKeys().length === 1, 'the patched tower ran in the service');
  await releaseLoraClipEncoders();
  const encT = ClipTextEncoder.open(SafetensorsFile.open(ckpt), CLIP_PREFIXES.sd1, {}, { models: null });
  const patchedT = loraClipEncoder({ ...base, encoder: encT }, ['l'], [patch], encT.sessionOptions);
  const t = await encodeTokenWeights(patchedT, chunks(), CLIP_PRESETS.sd1);
  assert.deepEqual(w.cond, t.cond);
  assert.deepEqual(w.pooled, t.pooled);
  const plain = await encodeTokenWeights(encT, chunks(), CLIP_PRESETS.sd1);
  assert.notDeepEqual(plain.cond, t.cond, 'patched and plain towers must differ, or this test proves nothing');
  await releaseLoraClipEncoders();
  for (const e of [encW, encT]) { await e.release(); e.file.close(); }
});

test('T5 through the service equals the in-thread session; the LRU evicts it and the next run reloads it', async () => {
  writeTinyT5(t5path);
  const f = SafetensorsFile.open(t5path);
  const ids = Array.from({ length: 24 }, (_, i) => (i * 977 + 13) % 40000).concat([1]);
  const ref = await T5Encoder.open(f, undefined, { models: null, threads: 1 }).encode(ids);
  // Room for the CLIP tower (6.3 MB) or the T5 encoder (5.1 MB), never both.
  const svc = service({ budgetBytes: 9_000_000 });
  const t5 = T5Encoder.open(f, undefined, { models: svc, threads: 1 });
  const a = await t5.encode(ids);
  assert.deepEqual(a.shape, [1, 25, 32]);
  assert.deepEqual(a.data, ref.data);
  const [t5Key] = svc.loadedKeys();
  assert.match(t5Key!, /^t5-encoder\|/);
  const clip = ClipTextEncoder.open(ckFile, CLIP_PREFIXES.sd1, {}, { models: svc });
  await encodeTokenWeights(clip, chunks(), CLIP_PRESETS.sd1);
  assert.ok(!svc.loadedKeys().includes(t5Key!), `T5 must be unloaded to fit CLIP: ${svc.loadedKeys().join(', ')}`);
  const b = await t5.encode(ids);
  assert.deepEqual(b.data, ref.data, 'reloaded after eviction, same result');
  assert.deepEqual(svc.loadedKeys(), [t5Key]);
  await t5.release();
  await clip.release();
  f.close();
});

test('the process default service carries encoders created without a context; closing it clears the default', async () => {
  const svc = service();
  const inThread = await ClipModel.fromCheckpoint(ckpt).encode('a photo of a cat');
  assert.equal(svc.loadedKeys().length, 0);
  setDefaultModelService(svc);
  try {
    // Same shared encoder as above: the service is chosen per run, not when the encoder was created.
    const viaDefault = await ClipModel.fromCheckpoint(ckpt).encode('a photo of a cat');
    assert.equal(svc.loadedKeys().length, 1);
    assert.deepEqual(viaDefault[0]![0].data, inThread[0]![0].data);
    assert.deepEqual((viaDefault[0]![1] as { pooled_output: { data: Float32Array } }).pooled_output.data, (inThread[0]![1] as { pooled_output: { data: Float32Array } }).pooled_output.data);
  } finally {
    await svc.close();
  }
  assert.equal(defaultModelService(), undefined);
  await releaseClipEncoders([ckpt]);
});
