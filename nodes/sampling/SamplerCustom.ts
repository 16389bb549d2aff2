import { defineNode } from '../../engine/graph/node.ts';

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
});
