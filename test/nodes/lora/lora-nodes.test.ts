import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeContext } from '../../../engine/graph/context.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { writeLora, writeSdCheckpoint } from '../../../engine/models/fixtures/index.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import { releaseClipEncoders, type ClipModel } from '../../../engine/models/clip/model.ts';
import type { SdModel } from '../../../engine/models/sd/model.ts';
import { PatchedSource } from '../../../engine/models/lora/index.ts';
import { loraClipEncoder, releaseLoraClipEncoders, type UNetOptionsWithWeights } from '../../../engine/models/lora/patches.ts';
import LoraLoader from '../../../nodes/lora/LoraLoader.ts';
import LoraLoaderModelOnly from '../../../nodes/lora/LoraLoaderModelOnly.ts';

const base = mkdtempSync(join(tmpdir(), 'weft-loranodes-'));
after(async () => { await releaseLoraClipEncoders(); await releaseClipEncoders(); rmSync(base, { recursive: true, force: true }); });
for (const d of ['models/checkpoints', 'models/loras', 'input', 'output', 'temp']) mkdirSync(join(base, d), { recursive: true });
const folders = createFolders({ modelsDir: join(base, 'models'), inputDir: join(base, 'input'), outputDir: join(base, 'output'), tempDir: join(base, 'temp') });
const ckpt = join(base, 'models/checkpoints/tiny.safetensors');
writeSdCheckpoint(ckpt, { family: 'sd1', seed: 5 });
writeLora(join(base, 'models/loras/style.safetensors'), { family: 'sd1' }, { seed: 6 });
writeSafetensors(join(base, 'models/loras/junk.safetensors'), { 'lora_unet_not_a_layer.lora_up.weight': { dtype: 'F32', shape: [1, 1], data: Float32Array.of(1) } });

const warnings: string[] = [];
const ctx = (classType: string): NodeContext => ({
  nodeId: '1', classType, promptId: 'p', signal: new AbortController().signal, services: { folders, modelCacheDir: join(base, 'temp') },
  prompt: {}, extraPngInfo: undefined, progress() {}, checkAbort() {}, warn: (m) => warnings.push(m),
});
const outs = async (r: unknown): Promise<unknown[]> => { const v = await r; return Array.isArray(v) ? v : (v as { outputs: unknown[] }).outputs; };

test('LoraLoader clones MODEL and CLIP with a patch; the patch hooks the UNet weights; the CLIP encoder changes', async () => {
  const { model, clip } = loadCheckpoint(ckpt, { cacheDir: join(base, 'temp'), folders });
  warnings.length = 0;
  const [m, c] = (await outs(LoraLoader.run!({ model, clip: clip!, lora_name: 'style.safetensors', strength_model: 0.8, strength_clip: 0.5 }, ctx('LoraLoader')))) as [SdModel, ClipModel];
  assert.notEqual(m, model); assert.notEqual(c, clip);
  assert.equal(model.patches.length, 0, 'the input model is untouched');
  assert.equal(m.patches.length, 1); assert.equal(c.patches.length, 1);
  assert.notEqual(m.sessionKey, model.sessionKey);
  assert.deepEqual(warnings, [], 'every key of a matching LoRA loads');
  // Stacking a second LoRA folds both into one hook over the checkpoint.
  const [m2] = (await outs(LoraLoaderModelOnly.run!({ model: m, lora_name: 'style.safetensors', strength_model: 0.3 }, ctx('LoraLoaderModelOnly')))) as [SdModel];
  let o: UNetOptionsWithWeights = { prefix: m2.source.prefix };
  for (const p of m2.patches) o = p.build!(o);
  const f = SafetensorsFile.open(m2.source.path);
  const src = o.weights!(f);
  assert.ok(src instanceof PatchedSource && src.patchedKeys.length > 0);
  f.close();
  assert.ok(warnings.some((w) => /lora key not loaded: lora_te_text_model/.test(w)), 'model-only: text-encoder keys are reported');
  const ref = { ...clip!.encoders.l!, role: 'l' as const };
  const patched = loraClipEncoder(ref, ['l'], c.patches);
  assert.notEqual(patched, ref.encoder);
  const ids = new BigInt64Array(77).fill(49407n); ids[0] = 49406n; ids[1] = 320n;
  const opts = { layer: -1, finalNorm: true, project: false };
  const a = await ref.encoder.run(ids, 1, null, opts), b = await patched.run(ids, 1, null, opts);
  assert.notDeepEqual(a.hidden, b.hidden);
  assert.equal(loraClipEncoder(ref, ['l'], clip!.withPatches([{ ...c.patches[0]!, strength: 0 }]).patches), ref.encoder, 'strength 0: the base encoder itself');
});

test('LoraLoader: both strengths 0 return the inputs; unmatched keys are warned with the file name', async () => {
  const { model, clip } = loadCheckpoint(ckpt, { cacheDir: join(base, 'temp'), folders });
  const same = await outs(LoraLoader.run!({ model, clip: clip!, lora_name: 'style.safetensors', strength_model: 0, strength_clip: 0 }, ctx('LoraLoader')));
  assert.equal(same[0], model); assert.equal(same[1], clip);
  warnings.length = 0;
  await outs(LoraLoader.run!({ model, clip: clip!, lora_name: 'junk.safetensors', strength_model: 1, strength_clip: 1 }, ctx('LoraLoader')));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /junk\.safetensors: lora key not loaded: lora_unet_not_a_layer\.lora_up\.weight/);
});
