/**
 * KSampler trajectories on the tiny UNets: sample_*, img2img_*, inpaint_masked_*, sdxl_sample_*,
 * sd2v_sample_*. Everything runs through ksample(): noise from the seed, our schedules and sampler math,
 * CFG batching, the noise mask. Only the SDE samplers' Brownian draws come from aux.noise_draws (our
 * Brownian path is not torchsde's), and the note says so.
 */
import type { CaseHandler, CaseTensor, ConformanceCase } from '../types.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { ksample, LATENT_FORMATS } from '../../sampling/ksample.ts';
import { DiscreteModelSampling } from '../../sampling/model-sampling.ts';
import { SDE_SAMPLERS } from '../../sampling/samplers/index.ts';
import type { CondEntry, ModelFn } from '../../sampling/cfg.ts';
import { prepareNoise } from '../../sampling/rng.ts';
import { unetFor } from './unet.ts';
import { applyModel } from '../../models/unet/apply.ts';

const MATCH = /^(sample_|img2img_|inpaint_masked_|sdxl_sample_|sd2v_sample_)/;

function get(m: Map<string, CaseTensor>, c: ConformanceCase, name: string): Tensor {
  const ref = c.inputs[name] ?? c.aux?.[name];
  const t = ref && m.get(ref.tensor);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`case ${c.name}: tensor "${name}" missing`);
  return { shape: t.shape, data: t.data };
}

/** Stacks per-row [1, …] tensors into [rows, …]. */
function stack(rows: readonly Tensor[]): Tensor {
  const per = rows[0]!.data.length;
  const data = new Float32Array(per * rows.length);
  rows.forEach((r, i) => data.set(r.data, i * per));
  return { shape: [rows.length, ...rows[0]!.shape.slice(1)], data };
}

export const handler: CaseHandler = {
  topic: 'sample',
  match: (c) => MATCH.test(c.name) && typeof c.params?.sampler === 'string',
  async run(c, ctx) {
    const p = c.params;
    const sdxl = c.name.startsWith('sdxl_');
    const prediction = p.prediction_type === 'v_prediction' ? 'v_prediction' : 'eps';
    const ms = new DiscreteModelSampling({ prediction });
    const unet = await unetFor(ctx.model('checkpoint'), typeof p.num_head_channels === 'number' ? p.num_head_channels : undefined);
    const m = await ctx.tensors();
    const latent = get(m, c, 'latent_image');
    const cond: CondEntry = { context: get(m, c, 'cond'), extra: sdxl ? { y: get(m, c, 'y_cond') } : undefined };
    const uncond: CondEntry = { context: get(m, c, 'uncond'), extra: sdxl ? { y: get(m, c, 'y_uncond') } : undefined };
    const model: ModelFn = async (x, sigma, rows) => {
      const context = stack(rows.map((r) => r.context));
      const y = sdxl ? stack(rows.map((r) => r.extra!.y as Tensor)) : undefined;
      const r = await applyModel(ms, unet, x, new Array<number>(rows.length).fill(sigma), context, { y });
      return { shape: x.shape, data: r.denoised };
    };
    // Our seeded noise must equal the recorded initial noise; a mismatch would hide behind the trajectory.
    const seed = BigInt(p.seed as number | bigint);
    const own = prepareNoise(latent.shape, seed).noise;
    const rec = get(m, c, 'noise').data;
    let noiseErr = 0;
    for (let i = 0; i < own.length; i++) noiseErr = Math.max(noiseErr, Math.abs(own[i]! - rec[i]!));
    if (noiseErr > 1e-5) throw new Error(`initial noise from seed ${seed} differs from input.noise by ${noiseErr}`);

    let note = 'noise: seed';
    let sde: ((a: number, b: number) => Float32Array) | undefined;
    if (SDE_SAMPLERS.has(p.sampler)) {
      const draws = get(m, c, 'noise_draws');
      const per = latent.data.length;
      let k = 0;
      sde = () => {
        if ((k + 1) * per > draws.data.length) throw new Error('more SDE draws than recorded');
        return draws.data.subarray(per * k, per * ++k);
      };
      note = 'noise: seed + recorded Brownian draws (aux.noise_draws)';
    }
    const res = await ksample({
      model, modelSampling: ms, latentFormat: sdxl ? LATENT_FORMATS.sdxl : LATENT_FORMATS.sd1,
      positive: [cond], negative: [uncond], cfg: p.cfg, latent, seed,
      noiseMask: c.inputs.noise_mask ? get(m, c, 'noise_mask') : undefined,
      sampler: p.sampler, scheduler: p.scheduler, steps: p.steps, denoise: p.denoise,
      sdeNoiseSampler: sde,
    });
    return { got: { samples: res.samples.data }, note };
  },
};
