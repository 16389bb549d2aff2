import { defineNode } from '../../engine/graph/node.ts';
import { asGuider, asNoise, asSampler, sampleLatent, sigmasOf } from '../../engine/models/sd/index.ts';

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
  run: async ({ noise, guider, sampler, sigmas, latent_image }, ctx) => {
    const s = asSampler(sampler);
    const r = await sampleLatent({ guider: asGuider(guider), latent: latent_image, noise: asNoise(noise), sampler: s.name, samplerOptions: s.options, sigmas: sigmasOf(sigmas) }, ctx);
    return [r.latent, r.denoised];
  },
});
