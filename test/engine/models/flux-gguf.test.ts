/**
 * A ComfyUI-GGUF-style FLUX file through the diffusion-model loader: Q8_0 / Q4_0 linears stay quantised
 * (MatMulNBits in the worker session), and the result tracks the float model within quantisation error.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { loadLoraForModels } from '../../../engine/models/lora/loader.ts';
import { loraModelPatch } from '../../../engine/models/lora/patches.ts';
import { fluxModelFnFor, releaseFluxEncoders, writeTinyFluxDit } from '../../../engine/models/flux-sd/index.ts';
import { loadDiffusionModel, type SdModel } from '../../../engine/models/sd/index.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import { encodeQ4_0, encodeQ8_0, f32Bytes, writeGguf, type TensorSpec } from '../io/gguf-helpers.ts';
import { maxDiff, rand, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
const models = (...p: string[]) => path.join(env.base, 'models', ...p);

function toGguf(src: string, out: string, type: 'Q8_0' | 'Q4_0'): number {
  const st = SafetensorsFile.open(src);
  let quantised = 0;
  try {
    const tensors: TensorSpec[] = st.keys().map((k) => {
      const t = st.get(k), w = st.readFloat32(k);
      if (t.shape.length === 2 && t.shape[1]! % 32 === 0) {
        quantised++;
        return { name: k, type, shape: t.shape, data: type === 'Q8_0' ? encodeQ8_0(w) : encodeQ4_0(w) };
      }
      return { name: k, type: 'F32', shape: t.shape, data: f32Bytes(w) };
    });
    // The tiny DiT's head dim (16) needs its RoPE axes from the file's metadata; carry it over like a converter would.
    const meta = Object.entries(st.metadata).map(([k, v]) => [k, 'string', v] as [string, 'string', string]);
    writeGguf(out, { tensors, kv: [['general.architecture', 'string', 'flux'], ...meta] });
  } finally {
    st.close();
  }
  return quantised;
}

before(() => {
  env = tempEnv();
  fs.mkdirSync(models('diffusion_models'), { recursive: true });
  writeTinyFluxDit(models('diffusion_models', 'schnell.safetensors'), { guidance: false });
});
after(() => releaseFluxEncoders());

const load = (name: string): SdModel => loadDiffusionModel(models('diffusion_models', name), { cacheDir: env.services.modelCacheDir! });
const row = (seed: number): CondEntry => ({ context: rand([1, 256, 32], seed), extra: { pooled_output: rand([1, 32], seed + 1) } });

test('UNETLoader path: a FLUX GGUF (Q8_0, Q4_0) is listed, loads as family flux and runs within quantisation error', async () => {
  const x = rand([1, 16, 4, 4], 5);
  const base = await fluxModelFnFor(load('schnell.safetensors'), env.services.models!, [1, 16, 4, 4])(x, 0.8, [row(7)]);
  let mag = 0;
  for (const v of base.data) mag = Math.max(mag, Math.abs(v));
  const errs: Record<string, number> = {};
  for (const type of ['Q8_0', 'Q4_0'] as const) {
    const name = `schnell-${type}.gguf`;
    assert.ok(toGguf(models('diffusion_models', 'schnell.safetensors'), models('diffusion_models', name), type) > 0, 'some linears quantised');
    assert.ok(env.folders.listModels('diffusion_models').includes(name), 'GGUF files are listed for UNETLoader');
    const m = load(name);
    assert.equal(m.family, 'flux');
    const got = await fluxModelFnFor(m, env.services.models!, [1, 16, 4, 4])(x, 0.8, [row(7)]);
    errs[type] = maxDiff(got.data, base.data) / mag;
  }
  assert.ok(errs.Q8_0! > 0 && errs.Q8_0! < 0.02, `Q8_0 relative error ${errs.Q8_0}`);
  assert.ok(errs.Q4_0! > errs.Q8_0! && errs.Q4_0! < 0.25, `Q4_0 relative error ${errs.Q4_0}`);
});

test('a GGUF that is not a FLUX diffusion model is refused with the file named', () => {
  const p = models('diffusion_models', 'other.gguf');
  writeGguf(p, { tensors: [{ name: 'some.weight', type: 'F32', shape: [2, 2], data: f32Bytes(new Float32Array(4)) }] });
  assert.throws(() => load('other.gguf'), /other\.gguf/);
});

test('LoRA on a GGUF FLUX model is refused at LoraLoader and at sampling, naming why', async () => {
  toGguf(models('diffusion_models', 'schnell.safetensors'), models('diffusion_models', 'schnell-lora.gguf'), 'Q8_0');
  const m = load('schnell-lora.gguf');
  const lora = models('diffusion_models', 'any-lora.safetensors');
  writeSafetensors(lora, { 'lora_unet_img_in.lora_up.weight': { dtype: 'F32', shape: [1, 1], data: Float32Array.of(1) } });
  const why = /LoRA on a GGUF model .* not supported yet: its weights stay packed/;
  assert.throws(() => loadLoraForModels(m, null, lora, 1, 0, { cacheDir: env.services.modelCacheDir! }), why);
  const patched = m.clone();
  patched.patches.push(loraModelPatch({ path: lora, strength: 1 }, env.services.modelCacheDir!));
  await assert.rejects(fluxModelFnFor(patched, env.services.models!, [1, 16, 4, 4])(rand([1, 16, 4, 4], 1), 0.5, [row(3)]), why);
});
