/**
 * Per-step sampler + CFG overhead in TypeScript on an SD1.5-sized latent (1×4×64×64, CFG batch 2), against
 * a measured model-call time in the same run: the tiny conformance UNet on the same [2, 4, 64, 64] input
 * when ../shared/conformance is present (a real SD1.5 UNet call is heavier still, so the true ratio is smaller).
 * Usage: node --import tsx bench/sampler.ts [steps]
 */
import { existsSync } from 'node:fs';
import { ksample, LATENT_FORMATS } from '../engine/sampling/ksample.ts';
import { DiscreteModelSampling } from '../engine/sampling/model-sampling.ts';
import type { ModelFn } from '../engine/sampling/cfg.ts';
import type { Tensor } from '../engine/tensor/tensor.ts';

const steps = Number(process.argv[2] ?? 20);
const ms = new DiscreteModelSampling();
const shape = [1, 4, 64, 64];
const context: Tensor = { shape: [1, 77, 768], data: new Float32Array(77 * 768) };
// Stand-in with the model's output shape and no work: what remains is sampler + CFG + scaling cost.
const nullModel: ModelFn = async (x) => ({ shape: x.shape, data: x.data.slice() });

async function perStep(sampler: string, model: ModelFn): Promise<number> {
  const t0 = performance.now();
  await ksample({
    model, modelSampling: ms, latentFormat: LATENT_FORMATS.sd1, positive: [{ context }], negative: [{ context }], cfg: 7,
    latent: { shape, data: new Float32Array(4 * 64 * 64) }, seed: 1, sampler, scheduler: 'karras', steps,
  });
  return (performance.now() - t0) / steps;
}

async function unetCallMs(): Promise<number | null> {
  const ckpt = new URL('../../shared/conformance/models/tiny_sd15.safetensors', import.meta.url).pathname;
  if (!existsSync(ckpt)) return null;
  const { loadUNet } = await import('../engine/models/unet/load.ts');
  const unet = await loadUNet(ckpt);
  const x: Tensor = { shape: [2, 4, 64, 64], data: new Float32Array(2 * 4 * 64 * 64).fill(0.1) };
  const ctx: Tensor = { shape: [2, 77, 32], data: new Float32Array(2 * 77 * 32) };
  await unet.run({ x, timesteps: new Float32Array([500, 500]), context: ctx });
  const n = 5;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await unet.run({ x, timesteps: new Float32Array([500, 500]), context: ctx });
  return (performance.now() - t0) / n;
}

const unet = await unetCallMs();
console.log(`steps=${steps}, latent [${shape.join('x')}], CFG batch 2`);
console.log(unet === null ? 'model call: no tiny UNet found (../shared/conformance), printing absolute overhead only' : `model call (tiny conformance UNet, [2,4,64,64]): ${unet.toFixed(2)} ms`);
for (const s of ['euler', 'euler_ancestral', 'dpmpp_2m', 'dpmpp_2m_sde', 'uni_pc']) {
  await perStep(s, nullModel); // warm-up
  const ms_ = await perStep(s, nullModel);
  console.log(`${s.padEnd(16)} overhead ${ms_.toFixed(3)} ms/step${unet === null ? '' : `  = ${((100 * ms_) / unet).toFixed(2)}% of a tiny-UNet call`}`);
}
