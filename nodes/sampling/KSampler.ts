import { defineNode } from '../../engine/graph/node.ts';
import { SAMPLER_NAMES, SCHEDULER_NAMES } from '../../engine/sampling/names.ts';
import { asSdModel, sampleLatent } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'KSampler',
  displayName: 'KSampler',
  category: 'sampling',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      seed: { type: 'INT', default: 0, min: 0, max: 18446744073709551615n, big: true, control_after_generate: true },
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      cfg: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      sampler_name: { type: 'COMBO', options: { kind: 'custom', list: () => [...SAMPLER_NAMES] } },
      scheduler: { type: 'COMBO', options: { kind: 'custom', list: () => [...SCHEDULER_NAMES] } },
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      latent_image: { type: 'LATENT' },
      denoise: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run: async ({ model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise }, ctx) => {
    const guider = { kind: 'cfg' as const, model: asSdModel(model), positive, negative, cfg };
    const r = await sampleLatent({ guider, latent: latent_image, noise: { kind: 'random', seed }, sampler: sampler_name, scheduler, steps, denoise }, ctx);
    return [r.latent];
  },
});
