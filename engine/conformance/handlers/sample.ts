/**
 * KSampler trajectories on the tiny UNets: sample_*, img2img_*, inpaint_masked_*, inpaint_model_* (the
 * 9-channel inpainting UNet), sdxl_sample_*, sd2v_sample_*. Everything runs through ksample(): noise from the seed, our schedules and sampler math,
 * CFG batching, the noise mask. SDE samplers draw from the port of torchsde's BrownianTree (seeded like
 * ComfyUI); the note names that source and how far its draws are from the recorded aux.noise_draws.
 */
import type { CaseHandler, CaseTensor, ConformanceCase } from '../types.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { ksample, LATENT_FORMATS } from '../../sampling/ksample.ts';
import { DiscreteModelSampling } from '../../sampling/model-sampling.ts';
import { SDE_SAMPLERS } from '../../sampling/samplers/index.ts';
import type { CondEntry, ModelFn } from '../../sampling/cfg.ts';
import { prepareNoise } from '../../sampling/rng.ts';
import { brownianNoiseSampler } from '../../sampling/brownian.ts';
import { ksamplerSigmas } from '../../sampling/schedulers.ts';
import { unetFor } from './unet.ts';
import { applyModel } from '../../models/unet/apply.ts';
import { prepareMask } from '../../sampling/mask.ts';

const MATCH = /^(sample_|img2img_|inpaint_masked_|inpaint_model_|sdxl_sample_|sd2v_sample_)/;

function get(m: Map<string, CaseTensor>, c: ConformanceCase, name: string): Tensor {
  const ref = c.inputs[name] ?? c.aux?.[name];
  const t = ref && m.get(ref.tensor);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`case ${c.name}: tensor "${name}" missing`);
  return { shape: t.shape, data: t.data };
}

/**
 * An inpainting model's c_concat for one latent row: round(bilinear noise mask at latent size), then the
 * processed (×scale) input latent — [1, 1 + C, H, W].
 */
function inpaintConcat(latent: Tensor, noiseMask: Tensor, scale: number): Tensor {
  const [B, C, H, W] = latent.shape as [number, number, number, number];
  if (B !== 1) throw new Error(`inpaint concat: batch ${B} latents are not used by the conformance cases`);
  const plane = H * W;
  const full = prepareMask(noiseMask.data, noiseMask.shape, latent.shape);
  const data = new Float32Array((C + 1) * plane);
  for (let i = 0; i < plane; i++) data[i] = Math.round(full[i]!);
  for (let i = 0; i < C * plane; i++) data[plane + i] = Math.fround(latent.data[i]! * scale);
  return { shape: [1, C + 1, H, W], data };
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
    const format = sdxl ? LATENT_FORMATS.sdxl : LATENT_FORMATS.sd1;
    // Inpainting UNet: every call gets [x·c_in, mask, latent·scale] on the channel axis (c_concat).
    let concat: Tensor | undefined;
    let concatNote = '';
    if (c.name.startsWith('inpaint_model_')) {
      concat = inpaintConcat(latent, get(m, c, 'noise_mask'), format.scale);
      if (c.aux?.c_concat) {
        const rec = get(m, c, 'c_concat').data;
        let e = rec.length === concat.data.length ? 0 : Infinity;
        for (let i = 0; i < rec.length && e !== Infinity; i++) e = Math.max(e, Math.abs(rec[i]! - concat.data[i]!));
        if (e > 1e-5) throw new Error(`c_concat differs from aux.c_concat by ${e}`);
        concatNote = `; c_concat max |Δ| vs aux.c_concat ${e.toExponential(2)}`;
      }
    }
    const model: ModelFn = async (x, sigma, rows) => {
      const context = stack(rows.map((r) => r.context));
      const y = sdxl ? stack(rows.map((r) => r.extra!.y as Tensor)) : undefined;
      const cc = concat && stack(rows.map(() => concat!));
      const r = await applyModel(ms, unet, x, new Array<number>(rows.length).fill(sigma), context, { y, concat: cc });
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
    let drawErr = 0;
    let drawCount = 0;
    if (SDE_SAMPLERS.has(p.sampler)) {
      // The same schedule ksample will build, so the tree spans ComfyUI's [sigma_min, sigma_max].
      const sigmas = ksamplerSigmas(ms, p.scheduler, p.sampler, p.steps, p.denoise ?? 1);
      const port = brownianNoiseSampler(latent.data.length, sigmas, seed, 'torchsde');
      const draws = c.aux?.noise_draws ? get(m, c, 'noise_draws').data : null;
      const per = latent.data.length;
      // Diagnostic only: the recorded draws are compared with, never fed to, the sampler.
      sde = (a, b) => {
        const w = port(a, b);
        if (draws && (drawCount + 1) * per <= draws.length) {
          for (let i = 0; i < per; i++) drawErr = Math.max(drawErr, Math.abs(w[i]! - draws[drawCount * per + i]!));
        }
        drawCount++;
        return w;
      };
    }
    const res = await ksample({
      model, modelSampling: ms, latentFormat: format,
      positive: [cond], negative: [uncond], cfg: p.cfg, latent, seed,
      noiseMask: c.inputs.noise_mask ? get(m, c, 'noise_mask') : undefined,
      sampler: p.sampler, scheduler: p.scheduler, steps: p.steps, denoise: p.denoise,
      sdeNoiseSampler: sde,
    });
    if (sde) note = `noise: torchsde BrownianTree, initial noise from seed (${drawCount} draws, max |Δ| vs aux.noise_draws ${drawErr.toExponential(2)})`;
    return { got: { samples: res.samples.data }, note: note + concatNote };
  },
};
