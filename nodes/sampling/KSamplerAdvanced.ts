import { defineNode } from '../../engine/graph/node.ts';
import { SAMPLER_NAMES, SCHEDULER_NAMES } from '../../engine/sampling/names.ts';
import { asSdModel, sampleLatent } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'KSamplerAdvanced',
  displayName: 'KSampler (Advanced)',
  category: 'sampling',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      add_noise: { type: 'COMBO', options: ['enable', 'disable'] },
      noise_seed: { type: 'INT', default: 0, min: 0, max: 18446744073709551615n, big: true, control_after_generate: true },
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      cfg: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      sampler_name: { type: 'COMBO', options: { kind: 'custom', list: () => [...SAMPLER_NAMES] } },
      scheduler: { type: 'COMBO', options: { kind: 'custom', list: () => [...SCHEDULER_NAMES] } },
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      latent_image: { type: 'LATENT' },
      start_at_step: { type: 'INT', default: 0, min: 0, max: 10000 },
      end_at_step: { type: 'INT', default: 10000, min: 0, max: 10000 },
      return_with_leftover_noise: { type: 'COMBO', options: ['disable', 'enable'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run: async (i, ctx) => {
    const guider = { kind: 'cfg' as const, model: asSdModel(i.model), positive: i.positive, negative: i.negative, cfg: i.cfg };
    const r = await sampleLatent({
      guider, latent: i.latent_image, noise: i.add_noise === 'disable' ? { kind: 'disabled' } : { kind: 'random', seed: i.noise_seed },
      sampler: i.sampler_name, scheduler: i.scheduler, steps: i.steps, startStep: i.start_at_step, endStep: i.end_at_step,
      forceFullDenoise: i.return_with_leftover_noise !== 'enable',
    }, ctx);
    return [r.latent];
  },
});
