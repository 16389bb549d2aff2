import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'SamplerCustomAdvanced',
  category: 'sampling/custom_sampling',
  inputs: {
    required: {
      noise: { type: 'NOISE' },
      guider: { type: 'GUIDER' },
      sampler: { type: 'SAMPLER' },
      sigmas: { type: 'SIGMAS' },
      latent_image: { type: 'LATENT' },
    },
  },
  outputs: [{ type: 'LATENT', name: 'output' }, { type: 'LATENT', name: 'denoised_output' }],
});
