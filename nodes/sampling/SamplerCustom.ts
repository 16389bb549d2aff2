import { defineNode } from '../../engine/graph/node.ts';
import { asSampler, asSdModel, sampleLatent, sigmasOf } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'SamplerCustom',
  category: 'sampling/custom_sampling',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      add_noise: { type: 'BOOLEAN', default: true, advanced: true },
      noise_seed: { type: 'INT', default: 0, min: 0, max: 18446744073709551615n, big: true, control_after_generate: true },
      cfg: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      sampler: { type: 'SAMPLER' },
      sigmas: { type: 'SIGMAS' },
      latent_image: { type: 'LATENT' },
    },
  },
  outputs: [{ type: 'LATENT', name: 'output' }, { type: 'LATENT', name: 'denoised_output' }],
  run: async (i, ctx) => {
    const guider = { kind: 'cfg' as const, model: asSdModel(i.model), positive: i.positive, negative: i.negative, cfg: i.cfg };
    const s = asSampler(i.sampler);
    const r = await sampleLatent({
      guider, latent: i.latent_image, noise: i.add_noise ? { kind: 'random', seed: i.noise_seed } : { kind: 'disabled' },
      sampler: s.name, samplerOptions: s.options, sigmas: sigmasOf(i.sigmas),
    }, ctx);
    return [r.latent, r.denoised];
  },
});
