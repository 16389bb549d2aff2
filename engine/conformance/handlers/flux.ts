/**
 * FLUX DiT cases: raw Flux.forward (flux_dit_*), apply_model at a sigma (flux_denoised_*) and KSampler
 * trajectories (flux_sample_*) through ksample() with ModelSamplingFlux's shift, CONST noise scaling and
 * the Flux latent format. The cases give T5/CLIP outputs as tensors, so only the DiT runs here.
 */
import type { CaseHandler, CaseOutcome, CaseTensor, ConformanceCase } from '../types.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { FluxModel } from '../../models/flux/model.ts';
import { applyFlux, fluxModelFn } from '../../models/flux/apply.ts';
import { ksample, LATENT_FORMATS } from '../../sampling/ksample.ts';
import { FlowModelSampling, fluxShift } from '../../sampling/model-sampling.ts';
import type { CondEntry } from '../../sampling/cfg.ts';
import { prepareNoise } from '../../sampling/rng.ts';

const models = new Map<string, Promise<FluxModel>>();

/** One session per model file for the whole run. */
function fluxFor(path: string): Promise<FluxModel> {
  let m = models.get(path);
  if (!m) {
    m = FluxModel.open(path, { threads: 2 });
    models.set(path, m);
  }
  return m;
}

function get(m: Map<string, CaseTensor>, c: ConformanceCase, name: string): Tensor {
  const ref = c.inputs[name] ?? c.aux?.[name];
  const t = ref && m.get(ref.tensor);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`case ${c.name}: float tensor "${name}" missing`);
  return { shape: t.shape, data: t.data };
}

const MATCH = /^(flux_dit_|flux_denoised_|flux_sample_)/;

export const handler: CaseHandler = {
  topic: 'flux',
  match: (c) => MATCH.test(c.name),
  async run(c, ctx): Promise<CaseOutcome> {
    const model = await fluxFor(ctx.model('diffusion_model'));
    const m = await ctx.tensors();
    const p = c.params;
    if (c.name.startsWith('flux_dit_')) {
      const out = await model.run(get(m, c, 'x'), get(m, c, 'timestep').data, get(m, c, 'context'), get(m, c, 'y'), get(m, c, 'guidance').data);
      return { got: { out: out.data } };
    }
    if (c.name.startsWith('flux_denoised_')) {
      const ms = new FlowModelSampling(typeof p.shift === 'number' ? p.shift : 1.15);
      const guidance = typeof p.guidance === 'number' ? [p.guidance] : undefined;
      const r = await applyFlux(ms, model, get(m, c, 'x'), get(m, c, 'sigma').data, get(m, c, 'context'), get(m, c, 'y'), guidance);
      return { got: { denoised: r.denoised } };
    }
    const node = p.model_sampling_flux_node as { max_shift: number; base_shift: number; width: number; height: number } | undefined;
    const shift = node ? fluxShift(node.width, node.height, node.max_shift, node.base_shift) : typeof p.shift === 'number' ? p.shift : 1.15;
    const ms = new FlowModelSampling(shift);
    const latent = get(m, c, 'latent_image');
    const seed = BigInt(p.seed as number | bigint);
    const own = prepareNoise(latent.shape, seed).noise;
    const rec = get(m, c, 'noise').data;
    let noiseErr = 0;
    for (let i = 0; i < own.length; i++) noiseErr = Math.max(noiseErr, Math.abs(own[i]! - rec[i]!));
    if (noiseErr > 1e-5) throw new Error(`initial noise from seed ${seed} differs from input.noise by ${noiseErr}`);
    const pooled = get(m, c, 'pooled');
    // FluxGuidance sets the positive's guidance; a negative without it falls back to the model default.
    const positive: CondEntry = { context: get(m, c, 'cond'), extra: { y: pooled, guidance: p.guidance ?? 3.5 } };
    const negative: CondEntry = { context: get(m, c, 'uncond'), extra: { y: c.inputs.pooled_uncond ? get(m, c, 'pooled_uncond') : pooled } };
    const res = await ksample({
      model: fluxModelFn(model, ms), modelSampling: ms, latentFormat: LATENT_FORMATS.flux,
      positive: [positive], negative: [negative], cfg: p.cfg, latent, seed,
      sampler: p.sampler, scheduler: p.scheduler, steps: p.steps, denoise: p.denoise,
    });
    return { got: { samples: res.samples.data }, note: `shift ${shift}` };
  },
};
